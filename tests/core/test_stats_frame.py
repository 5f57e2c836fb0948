"""ActivationStats.to_frame round-trips its tensors; histograms name their outer bins;
deprecated result names warn and old files load (docs/results.md)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.data import TensorDataset

from interpret.core import ActivationStats, Histogram, Result, load_result, scan
from interpret.core.naming import renamed
from interpret.testing import chain_cnn

NAMES = [f"img_{i:03d}.png" for i in range(20)]


@pytest.fixture(scope="module")
def stats():
    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(20, 3, 16, 16, generator=gen), torch.arange(20) % 4)
    analyzer = ActivationStats(["features.1", "features.4"], k=3)
    return scan(chain_cnn(), data, [analyzer], batch_size=6, progress=False)[0]


def test_activation_stats_frame_round_trips(stats) -> None:
    frame = stats.to_frame(image_names=NAMES)
    assert len(frame) == sum(s.top_image_index.numel() for s in stats.sites.values())  # 20 >= k
    assert list(frame.site.unique()) == ["features.1", "features.4"]
    for row in frame.itertuples():
        site = stats.sites[row.site]
        c, r = row.channel, row.rank
        for name in ("mean", "std", "min", "max", "active_fraction"):
            assert getattr(row, name) == getattr(site, name)[c].item(), name
        assert row.count == site.count == 20
        assert row.top_value == site.top_value[c, r].item()
        assert row.image_index == site.top_image_index[c, r].item()
        assert row.image_name == NAMES[row.image_index]


def test_histogram_names_its_outer_bins() -> None:
    hist = Histogram(torch.tensor([0.0, 1.0, 2.0]), shape=(2,))
    hist.update(torch.tensor([[-1.0, 0.5], [-2.0, 2.0], [1.5, 3.0]]))
    assert hist.underflow.tolist() == [2, 0] and hist.overflow.tolist() == [0, 2]
    assert torch.equal(hist.underflow, hist.counts[..., 0])
    assert torch.equal(hist.overflow, hist.counts[..., -1])


@dataclasses.dataclass(frozen=True)
class _Renamed(Result):
    coordinates: torch.Tensor
    note: str = ""

    renamed_fields = {"embedding": "coordinates"}
    embedding = renamed("embedding", "coordinates")


def test_renamed_alias_warns_and_old_files_load(tmp_path) -> None:
    res = _Renamed(torch.arange(4.0))
    with pytest.warns(DeprecationWarning, match=r"_Renamed\.embedding .* use \.coordinates"):
        old = res.embedding
    assert old is res.coordinates
    path = res.save(tmp_path / "r.pt")
    payload = torch.load(path, weights_only=True)
    fields = payload["result"]["fields"]
    fields["embedding"] = fields.pop("coordinates")  # as saved before the rename
    del fields["note"]  # a field added later, with a default
    torch.save(payload, path)
    loaded = load_result(path)
    assert torch.equal(loaded.coordinates, res.coordinates) and loaded.note == ""
