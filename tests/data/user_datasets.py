"""Dataset factories as a user writes them, named as ``user_datasets:<factory>``."""

from __future__ import annotations

import torch
from photo_crops import crops
from torch.utils.data import Dataset


class PhotoCrops(Dataset):
    """Crops of three photos as NumPy arrays, with ``classes`` and ``targets``."""

    classes = ["cat", "coffee", "rocket"]

    def __init__(self, per_class: int = 4) -> None:
        self.images, self.targets = [], []
        for label, name in enumerate(("chelsea", "coffee", "rocket")):
            for tile in crops(name, per_class):
                self.images.append(tile)
                self.targets.append(label)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index], self.targets[index]


def photo_crops() -> PhotoCrops:
    return PhotoCrops()


class Prepared(Dataset):
    """Tensors already prepared by the user's own transform; no ``targets`` attribute."""

    def __init__(self, labels) -> None:
        self.labels = labels
        generator = torch.Generator().manual_seed(0)
        self.images = torch.randn(len(labels), 3, 16, 16, generator=generator)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.images[index], self.labels[index]


def prepared(preprocess) -> Prepared:
    """Takes the model's preprocess (and ignores it: the tensors are ready)."""
    prepared.given = preprocess
    return Prepared([0, 1, 1, 0, 2, 2])


def fractional_labels() -> Prepared:
    return Prepared([0, 1, 0.6])


def not_a_dataset():
    return 42
