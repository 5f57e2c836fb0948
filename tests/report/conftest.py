"""Fixtures for the report tests: a tiny image folder and a tiny, fast config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interpret.report import ReportConfig

TINY_SECTIONS = {
    "summary": {"k": 2},
    "deconvnet": {"k": 3, "channels": 2},
    "occlusion": {"window": 8, "stride": 4},
    "maximize": {
        "size": 24,
        "steps": 3,
        "class_size": 24,
        "class_steps": 3,
        "channels": [0, 1],
        "classes": [0, 1],
    },
    "embeddings": {"max_patches": 60, "per_image": 10, "tsne_iter": 250, "neighbours": 3},
    "invariance": {"shifts": [-4, 0, 4], "scales": [1.0, 1.5], "degrees": [0, 90]},
    "filters": {},
}


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Six small real photos (crops of skimage's) as PNG files; one has an odd name."""
    import skimage.data
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    photos = {
        "chelsea": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
        "rocket": skimage.data.rocket(),
        "astronaut": skimage.data.astronaut(),
    }
    count = 0
    for name, photo in photos.items():
        for half in (0, 1):
            h, w = photo.shape[:2]
            crop = photo[:, half * w // 2 : (half + 1) * w // 2]
            image = Image.fromarray(np.ascontiguousarray(crop)).resize((40, 40))
            label = f"{name}-{half}" if count != 3 else "<img src=x onerror=alert(1)>&x"
            image.save(folder / f"{label}.png")
            count += 1
    return folder


@pytest.fixture
def tiny_config(tmp_path: Path, image_folder: Path):
    """A config on chain_cnn (random weights) over the image folder (no bundled extras)."""

    def make(analyzers=("summary",), out=None, **changes):
        values = dict(
            out=out or tmp_path / "out",
            model="interpret.testing:chain_cnn",
            data=(str(image_folder),),
            analyzers=None if analyzers is None else tuple(analyzers),
            image_size=32,
            batch_size=4,
            progress=False,
            sections=TINY_SECTIONS,
        )
        sections = {**TINY_SECTIONS, **changes.pop("sections", {})}
        values.update(changes, sections=sections)
        return ReportConfig(**values)

    return make


@pytest.fixture
def chromium_page(tmp_path: Path):
    """Open an HTML file in headless Chromium: ``(body attributes, console lines)``.

    Also writes a screenshot when ``screenshot`` is given. Skips when no Chromium exists.
    The browser is driven by ``tests/chromium.py``, shared with the docs site's check.
    """
    from chromium import find_chromium, open_page

    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (scripts/install-browser.sh installs it).")

    def open_file(html: Path, screenshot: Path | None = None) -> tuple[dict[str, str], list[str]]:
        profile = tmp_path / f"chromium-profile-{len(list(tmp_path.iterdir()))}"
        return open_page(binary, html.resolve().as_uri(), profile, screenshot)

    return open_file
