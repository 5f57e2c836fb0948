"""Fixtures for the atlas tests: a labelled folder of small PNGs and a tiny atlas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from atlas_helpers import SITES  # noqa: E402


@pytest.fixture(scope="session")
def class_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three class folders of four 40x40 PNG crops of skimage photos each."""
    import skimage.data
    from PIL import Image

    root = tmp_path_factory.mktemp("labelled")
    photos = {
        "cat": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
        "rocket": skimage.data.rocket(),
    }
    for name, photo in photos.items():
        (root / name).mkdir()
        h, w = photo.shape[:2]
        for i in range(4):
            crop = photo[(i % 2) * h // 2 : (i % 2 + 1) * h // 2, (i // 2) * w // 2 :]
            Image.fromarray(np.ascontiguousarray(crop)).resize((40, 40)).save(
                root / name / f"{i}.png"
            )
    return root


@pytest.fixture(scope="session")
def tiny_atlas(tmp_path_factory: pytest.TempPathFactory, class_folder: Path):
    """An atlas of chain_cnn (random weights, max pools: switches) over the folder."""
    from interpret.atlas import build

    out = tmp_path_factory.mktemp("atlas") / "atlas"
    return build(
        out,
        "interpret.testing:chain_cnn",
        [str(class_folder)],
        sites=SITES,
        image_size=32,
        batch_size=5,
        maximize={"features.4": [0, 3]},
    )
