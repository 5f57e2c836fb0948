"""scikit-learn's 8x8 handwritten digits, upsampled for small CNNs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from interpret.data._split import Split, split_indices
from interpret.data.preprocess import Preprocess

__all__ = ["Digits"]


class Digits(Dataset[tuple[Tensor, int]]):
    """``sklearn.datasets.load_digits()`` (1797 images, 8x8, labels 0-9) as tensors.

    Pixel values (0-16) are scaled to ``[0, 1]``, upsampled bilinearly to
    ``size x size`` and mapped to ``[-1, 1]`` (``mean = std = 0.5``); :attr:`preprocess`
    holds that normalization, so ``data.preprocess.to_image(x)`` draws a sample.

    Parameters
    ----------
    size:
        Side of the upsampled images (8 keeps the originals).
    split:
        ``"all"``, ``"train"`` or ``"test"``: a stratified split that depends only on
        ``seed`` and ``test_fraction``.
    channels:
        1, or 3 (the gray image replicated, for RGB models).
    seed, test_fraction:
        Define the split.

    Attributes
    ----------
    images:
        ``(N, channels, size, size)`` float32, normalized.
    targets:
        ``(N,)`` int64 labels.
    images_raw:
        ``(N, 8, 8)`` float32 in ``[0, 1]``, the original digits, for drawing.
    indices:
        ``(N,)`` positions of these samples in ``load_digits()``.

    Examples
    --------
    >>> train, test = Digits(size=32, split="train"), Digits(size=32, split="test")
    >>> len(train) + len(test), tuple(train[0][0].shape)
    (1797, (1, 32, 32))
    """

    classes: tuple[str, ...] = tuple(str(d) for d in range(10))

    def __init__(
        self,
        size: int = 32,
        split: Split = "all",
        channels: int = 1,
        seed: int = 0,
        test_fraction: float = 0.25,
    ) -> None:
        from sklearn.datasets import load_digits

        if channels not in (1, 3):
            raise ValueError(f"channels is 1 or 3, not {channels!r}.")
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}.")
        bunch = load_digits()
        index = split_indices(bunch.target, split, test_fraction, seed)
        self.split = split
        self.indices = index
        self.images_raw: np.ndarray = (bunch.images[index] / 16.0).astype(np.float32)
        self.preprocess = Preprocess(mean=(0.5,) * channels, std=(0.5,) * channels, size=size)
        raw = torch.from_numpy(self.images_raw)[:, None]
        self.images: Tensor = self.preprocess(raw)
        self.targets: Tensor = torch.from_numpy(bunch.target[index].astype(np.int64))

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.images[index], int(self.targets[index])
