"""The report on a user's own model and labelled images, end to end, as a researcher runs it.

A small max-pooled CNN defined in ``report_nets.py`` (given as ``module:factory`` with a
checkpoint), trained for a few seconds on a folder of real photo crops in three classes;
``interpret report`` must be about that model and those classes only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from interpret.core import load_result
from interpret.report.cli import main

CLASSES = ("astronaut", "cat", "coffee")
SIDE = 48


def _photo_crops(root: Path, per_class: int = 10) -> Path:
    """Random square crops of three scikit-image photos, one class folder each."""
    import skimage.data
    from PIL import Image

    photos = {
        "astronaut": skimage.data.astronaut(),
        "cat": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
    }
    rng = np.random.default_rng(0)
    for name, photo in photos.items():
        (root / name).mkdir(parents=True)
        h, w = photo.shape[:2]
        for i in range(per_class):
            side = int(rng.integers(min(h, w) // 3, min(h, w) // 1.5))
            top, left = int(rng.integers(0, h - side)), int(rng.integers(0, w - side))
            crop = np.ascontiguousarray(photo[top : top + side, left : left + side])
            Image.fromarray(crop).resize((SIDE, SIDE)).save(root / name / f"{name}_{i}.png")
    return root


def _train(folder: Path, path: Path) -> float:
    """A few seconds of Adam on the folder; saves the state dict, returns train accuracy."""
    from report_nets import small_cnn

    from interpret.data import IMAGENET, ImageFolderDataset, Preprocess

    pre = Preprocess(mean=IMAGENET.mean, std=IMAGENET.std, size=SIDE, resize=None)
    data = ImageFolderDataset(folder, pre, labels="folders")
    images = torch.stack([data[i][0] for i in range(len(data))])
    labels = torch.tensor(data.targets)
    torch.manual_seed(0)
    model = small_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    torch.save(model.state_dict(), path)
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).float().mean())


@pytest.fixture
def user_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    folder = _photo_crops(tmp_path / "photos")
    weights = tmp_path / "small_cnn.pt"
    accuracy = _train(folder, weights)
    return folder, weights, accuracy


TINY = [
    "--set", "deconvnet.k=4", "--set", "deconvnet.channels=2",
    "--set", "occlusion.window=12", "--set", "occlusion.stride=6",
    "--set", "occlusion.max_images=4",
    "--set", "maximize.size=32", "--set", "maximize.steps=4", "--set", "maximize.channels=[0]",
    "--set", "embeddings.max_patches=60", "--set", "embeddings.per_image=4",
    "--set", "embeddings.tsne_iter=250",
    "--set", "invariance.shifts=[-4,0,4]", "--set", "invariance.scales=[1.0,1.5]",
    "--set", "invariance.degrees=[0,90]", "--set", "probes.folds=2",
]  # fmt: skip


def test_report_is_about_the_users_model_and_classes(user_setup, tmp_path, chromium_page):
    folder, weights, accuracy = user_setup
    assert accuracy > 0.6  # the model learned something about the classes
    out = tmp_path / "report"
    code = main(
        [
            "report", str(out), "--model", "report_nets:small_cnn", "--weights", str(weights),
            "--data", str(folder), "--image-size", str(SIDE), "--batch-size", "8", "-q", *TINY,
        ]
    )  # fmt: skip
    assert code == 0
    meta = json.loads((out / "report.json").read_text())
    assert meta["classes"] == list(CLASSES)
    assert meta["device"] == "cpu"  # --device auto on a machine without CUDA
    assert {"scan: main", "compute: occlusion", "load model"} <= set(meta["stages"])
    assert "wall time per stage" in (out / "report.log").read_text()
    # No bundled demo in a report on the user's model.
    assert meta["skipped"] == []
    assert "deconvnet_switches" not in meta["computed"]
    html = (out / "index.html").read_text()
    markdown = (out / "report.md").read_text()
    for demo in ("ZFNet on digits", "faces vs non-faces", "digit "):
        assert demo not in markdown
    assert "class 0" not in markdown and "class 1" not in markdown
    # Selectivity and probes on the folder's classes.
    selectivity = load_result(out / "results" / "selectivity.pt").result
    assert set(selectivity.parts) == {"main"}
    assert selectivity.parts["main"].per_class.names == CLASSES
    probes = load_result(out / "results" / "probes.pt")
    assert probes.params["source"] == "main" and probes.result.n_classes == 3
    # The deconvnet walks the user's max-pooled chain with its switches.
    top = load_result(out / "results" / "deconvnet.pt").result
    assert {p.route for p in top.parts.values()} == {"reverse"}
    assert "max-pooling switches" in markdown
    # Occlusion on images of the data, targeting the true classes by name, panel (c) drawn.
    occlusion = load_result(out / "results" / "occlusion.pt").result
    assert occlusion.parts["projection"].route == "reverse"
    targets = {int(t) for t in occlusion.parts["occlusion"].target}
    assert targets <= {0, 1, 2}
    for name in CLASSES[:2]:
        assert f": {name}" in markdown  # figure titles name the target class
    assert "no projection given" not in html
    # Activation maximization of the data's classes, named.
    maximize = load_result(out / "results" / "maximize.pt").result
    assert maximize.info["class_titles"] == list(CLASSES)
    # The page in a real browser: every image loads, nothing on the console.
    attrs, console = chromium_page(out / "index.html", tmp_path / "shot.png")
    assert console == []
    assert attrs["data-images-loaded"] == attrs["data-images-total"] != "0"


def test_one_class_folder_skips_class_sections_and_says_why(user_setup, tmp_path):
    folder, weights, _ = user_setup
    single = tmp_path / "single"
    single.mkdir()
    (folder / "cat").rename(single / "cat")
    out = tmp_path / "report"
    code = main(
        [
            "report", str(out), "--model", "report_nets:small_cnn", "--weights", str(weights),
            "--data", str(single), "--image-size", str(SIDE), "-q",
            "--analyzers", "selectivity,probes,summary",
        ]
    )  # fmt: skip
    assert code == 0
    meta = json.loads((out / "report.json").read_text())
    assert set(meta["skipped"]) == {"selectivity", "probes"}
    markdown = (out / "report.md").read_text()
    assert "at least two classes" in markdown and "one class (cat)" in markdown


def test_model_without_class_scores_skips_class_sections(tmp_path, image_folder, capsys):
    out = tmp_path / "report"
    code = main(
        [
            "report", str(out), "--model", "interpret.testing:DictOutputNet",
            "--data", str(image_folder), "--image-size", "32", "-q",
            "--analyzers", "occlusion,summary",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    meta = json.loads((out / "report.json").read_text())
    assert meta["skipped"] == ["occlusion"]
    assert "not class scores" in (out / "report.md").read_text()


def test_probes_on_a_few_images_per_class_shrink_their_folds(user_setup, tmp_path):
    """Three images in one class: the default 5 folds shrink to 3 instead of failing."""
    folder, weights, _ = user_setup
    for extra in sorted((folder / "cat").iterdir())[3:]:
        extra.unlink()
    out = tmp_path / "report"
    code = main(
        [
            "report", str(out), "--model", "report_nets:small_cnn", "--weights", str(weights),
            "--data", str(folder), "--image-size", str(SIDE), "-q", "--analyzers", "probes",
        ]
    )  # fmt: skip
    assert code == 0
    probes = load_result(out / "results" / "probes.pt")
    assert probes.result.folds == 3 and probes.result.n_classes == 3
