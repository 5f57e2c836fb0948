"""Deterministic, stratified train/test splits shared by the small built-in datasets."""

from __future__ import annotations

from typing import Literal

import numpy as np

Split = Literal["all", "train", "test"]


def split_indices(labels: np.ndarray, split: str, test_fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``split`` (``"all"``, ``"train"`` or ``"test"``).

    The split is stratified by label and depends only on ``seed``; ``train`` and ``test``
    are disjoint and together give ``all``.
    """
    if split not in ("all", "train", "test"):
        raise ValueError(f"split is 'all', 'train' or 'test', not {split!r}.")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    everything = np.arange(len(labels))
    if split == "all":
        return everything
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        everything, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return np.sort(train if split == "train" else test)
