"""Faces versus non-faces: the 200-image LFW subset that ships with scikit-image."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from interpret.data._split import Split, split_indices
from interpret.data.preprocess import Preprocess

__all__ = ["FacesVsNonFaces"]


class FacesVsNonFaces(Dataset[tuple[Tensor, int]]):
    """``skimage.data.lfw_subset()``: 100 faces then 100 non-faces, 25x25 gray.

    The non-faces are background crops from the same LFW photos. Images are
    replicated to the preprocess's channel count and resized by it.

    Parameters
    ----------
    preprocess:
        Normalization (and geometry) for the model; default: ``[-1, 1]``, 3 channels,
        64x64.
    size:
        If given, overrides the preprocess's geometry: a direct resize to
        ``size x size`` (bilinear, no crop).
    split, seed, test_fraction:
        ``"all"``, ``"train"`` or ``"test"``: a stratified split that depends only on
        ``seed`` and ``test_fraction``.

    Attributes
    ----------
    images:
        ``(N, C, H, W)`` float32, normalized.
    targets:
        ``(N,)`` int64: 1 = face, 0 = non-face.
    images_raw:
        ``(N, 25, 25)`` float64 in ``[0, 1]``, the originals, for drawing.

    Examples
    --------
    >>> data = FacesVsNonFaces(size=32)
    >>> len(data), tuple(data[0][0].shape), data[0][1], data[199][1]
    (200, (3, 32, 32), 1, 0)
    """

    classes: tuple[str, ...] = ("non-face", "face")

    def __init__(
        self,
        preprocess: Preprocess | None = None,
        size: int | None = None,
        split: Split = "all",
        seed: int = 0,
        test_fraction: float = 0.25,
    ) -> None:
        from skimage.data import lfw_subset

        if preprocess is None:
            preprocess = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=64)
        elif not isinstance(preprocess, Preprocess):
            raise TypeError(f"preprocess must be a Preprocess, not {type(preprocess).__name__}.")
        if size is not None:
            if not isinstance(size, int) or size < 1:
                raise ValueError(f"size must be a positive int or None, got {size!r}.")
            preprocess = dataclasses.replace(preprocess, size=size, resize=None)
        images = lfw_subset()
        labels = np.r_[np.ones(100, dtype=np.int64), np.zeros(len(images) - 100, dtype=np.int64)]
        index = split_indices(labels, split, test_fraction, seed)
        self.split = split
        self.indices = index
        self.preprocess = preprocess
        self.images_raw: np.ndarray = images[index]
        raw = torch.from_numpy(self.images_raw.astype(np.float32))[:, None]
        self.images: Tensor = preprocess(raw)
        self.targets: Tensor = torch.from_numpy(labels[index])

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.images[index], int(self.targets[index])
