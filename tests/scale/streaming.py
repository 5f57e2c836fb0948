"""Every streaming analyzer of the library with small settings, and result comparison.

Imported by the scale tests (also inside spawned worker processes).
"""

from __future__ import annotations

import dataclasses

import torch
from torch.utils.data import Dataset

from interpret.core import ActivationStats, Result
from interpret.deconvnet import TopActivations
from interpret.embeddings import ImageEmbeddings, IncrementalPCA, PatchEmbeddings
from interpret.filters import FilterActivity
from interpret.neurons import ChannelRelevance, Selectivity
from interpret.probes import FeatureCollector


class GeneratedImages(Dataset):
    """``n`` deterministic random images (3 x 21 x 17), labels ``i % 3``, and a mask."""

    def __init__(self, n: int, size: tuple[int, int] = (21, 17)) -> None:
        self.n = n
        self.size = size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        gen = torch.Generator().manual_seed(i)
        image = torch.randn(3, *self.size, generator=gen)
        mask = (torch.rand(*self.size, generator=gen) > 0.5).float()
        return {"image": image, "label": i % 3, "mask": mask}


def all_streaming_analyzers(max_items: int = 64) -> list:
    return [
        ActivationStats(["features.2", "features.5"]),
        TopActivations("features.3", k=4),
        Selectivity("features.5", classes=3),
        PatchEmbeddings("features.3", max_patches=max_items),
        ImageEmbeddings("features.8", max_images=max_items),
        IncrementalPCA(2, site="features.5"),
        FeatureCollector(["features.2", "features.8"], max_images=max_items),
        FilterActivity("features.0"),
        ChannelRelevance("features.0"),
    ]


def assert_same_result(a, b, path: str = "result") -> None:
    """Field by field: exact for integers and strings, float32 rounding for floats."""
    assert type(a) is type(b), path
    if isinstance(a, Result):
        for field in dataclasses.fields(a):
            assert_same_result(
                getattr(a, field.name), getattr(b, field.name), f"{path}.{field.name}"
            )
    elif isinstance(a, torch.Tensor):
        if a.is_floating_point():
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, equal_nan=True, msg=path)
        else:
            assert torch.equal(a, b), path
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same_result(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_result(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), path
    else:
        assert a == b, path
