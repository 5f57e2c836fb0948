from dataclasses import dataclass

import pytest
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from interpret.core import Batch, Result, RunningMoments, hook_count, scan
from interpret.testing import chain_cnn


@dataclass(frozen=True)
class MeanResult(Result):
    site: str
    mean: Tensor
    count: int
    indices: Tensor
    labels: Tensor


class ChannelMeans:
    """Test analyzer: per-channel spatial means, plus the indices and labels it saw."""

    def __init__(self, site: str, channels: int) -> None:
        self.sites = (site,)
        self.moments = RunningMoments((channels,))
        self.indices: list[Tensor] = []
        self.labels: list[Tensor] = []

    def update(self, activations, batch: Batch) -> None:
        act = activations[self.sites[0]]
        self.moments.update(act.flatten(2).mean(-1))
        self.indices.append(batch.index.clone())
        if batch.labels is not None:
            self.labels.append(batch.labels.cpu())

    def merge(self, other: "ChannelMeans") -> None:
        self.moments.merge(other.moments)
        self.indices += other.indices
        self.labels += other.labels

    def result(self) -> MeanResult:
        labels = torch.cat(self.labels) if self.labels else torch.empty(0, dtype=torch.long)
        return MeanResult(
            self.sites[0], self.moments.mean, self.moments.count, torch.cat(self.indices), labels
        )


def _data(n=21, h=19, w=23):
    gen = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 3, h, w, generator=gen), torch.arange(n) % 4)


def test_scan_matches_direct_forward_and_feeds_all_analyzers_from_one_hook():
    model = chain_cnn()
    data = _data()
    a = ChannelMeans("features.3", 8)
    b = ChannelMeans("features.3", 8)
    c = ChannelMeans("features.6", 10)
    calls = []
    model.features[3].register_forward_hook(lambda *args: calls.append(1))
    ra, rb, rc = scan(model, data, [a, b, c], batch_size=5, progress=False)
    assert len(calls) == 5  # one forward per batch, however many analyzers
    x = data.tensors[0]
    with torch.no_grad():
        direct = model.features[:4](x).mean(dim=(2, 3)).double().mean(0)
    torch.testing.assert_close(ra.mean, direct, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(rb.mean, ra.mean)
    assert rc.mean.shape == (10,)
    assert ra.indices.tolist() == list(range(21))
    assert ra.labels.tolist() == (torch.arange(21) % 4).tolist()


def test_scan_accepts_dataloader_and_plain_tensors_and_dicts():
    model = chain_cnn()
    x = _data().tensors[0]
    (from_loader,) = scan(
        model, DataLoader(_data(), batch_size=7), [ChannelMeans("features.0", 6)], progress=False
    )

    class Plain(torch.utils.data.Dataset):
        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return x[i]

    class Dicts(Plain):
        def __getitem__(self, i):
            return {"image": x[i], "label": i % 4, "name": f"img{i}"}

    (plain,) = scan(model, Plain(), [ChannelMeans("features.0", 6)], progress=False)
    (dicts,) = scan(model, Dicts(), [ChannelMeans("features.0", 6)], progress=False)
    torch.testing.assert_close(plain.mean, from_loader.mean)
    torch.testing.assert_close(dicts.mean, from_loader.mean)
    assert plain.labels.numel() == 0
    assert dicts.labels.tolist() == from_loader.labels.tolist()


def test_scan_restores_mode_flags_and_hooks_even_on_error():
    model = chain_cnn().train()
    flags = [p.requires_grad for p in model.parameters()]
    before = hook_count(model)

    class Exploding(ChannelMeans):
        def update(self, activations, batch):
            if int(batch.index[0]) >= 10:
                raise RuntimeError("boom")
            super().update(activations, batch)

    with pytest.raises(RuntimeError, match="boom"):
        scan(model, _data(), [Exploding("features.0", 6)], batch_size=5, progress=False)
    assert hook_count(model) == before
    assert all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == flags
    scan(model, _data(), [ChannelMeans("features.0", 6)], progress=False)
    assert model.training and hook_count(model) == before


def test_scan_bad_input():
    model = chain_cnn()
    analyzer = ChannelMeans("features.0", 6)
    with pytest.raises(ValueError, match="empty"):
        scan(model, TensorDataset(torch.empty(0, 3, 8, 8)), [analyzer], progress=False)
    with pytest.raises(ValueError, match="Unknown site 'features.99'"):
        scan(model, _data(), [ChannelMeans("features.99", 6)], progress=False)
    nan = _data()
    nan.tensors[0][3, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite.*allow_nonfinite=True"):
        scan(model, nan, [analyzer], progress=False)
    (ok,) = scan(model, nan, [ChannelMeans("features.0", 6)], allow_nonfinite=True, progress=False)
    assert ok.count == 21
    ints = TensorDataset(torch.zeros(4, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(TypeError, match="floating point"):
        scan(model, ints, [analyzer], progress=False)
    wrong_channels = TensorDataset(torch.zeros(4, 1, 8, 8))
    with pytest.raises(ValueError, match=r"could not run on inputs of shape \(4, 1, 8, 8\)"):
        scan(model, wrong_channels, [ChannelMeans("features.0", 6)], progress=False)
    with pytest.raises(ValueError, match="model is on cpu but device=meta"):
        scan(model, _data(), [analyzer], device="meta", progress=False)
    with pytest.raises(ValueError, match="at least one analyzer"):
        scan(model, _data(), [], progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        scan(model, _data(), [analyzer], batch_size=0, progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_scan_on_cuda_matches_cpu():
    data = _data()
    (cpu,) = scan(chain_cnn(), data, [ChannelMeans("features.3", 8)], progress=False)
    (gpu,) = scan(chain_cnn().cuda(), data, [ChannelMeans("features.3", 8)], progress=False)
    torch.testing.assert_close(gpu.mean, cpu.mean, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="model is on cpu"):
        scan(chain_cnn(), data, [ChannelMeans("features.3", 8)], device="cuda", progress=False)
