"""Labelled folders of real photo crops (scikit-image photos cut into PNG tiles)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def photo(name: str) -> np.ndarray:
    import skimage.data

    return getattr(skimage.data, name)()


def crops(name: str, count: int, side: int = 40) -> list[np.ndarray]:
    """``count`` distinct square crops of a photo, resized to ``side`` pixels."""
    image = photo(name)
    h, w = image.shape[:2]
    crop = min(h, w) // 2
    out = []
    for i in range(count):
        top = (i * 37) % (h - crop)
        left = (i * 61) % (w - crop)
        tile = Image.fromarray(np.ascontiguousarray(image[top : top + crop, left : left + crop]))
        out.append(np.asarray(tile.resize((side, side))))
    return out


def write_class_folders(root: Path, counts: dict[str, int]) -> Path:
    """``root/<photo>/<i>.png`` with ``counts[photo]`` crops each; returns ``root``."""
    for name, count in counts.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i, tile in enumerate(crops(name, count)):
            Image.fromarray(tile).save(folder / f"{i}.png")
    return root
