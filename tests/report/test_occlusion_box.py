"""Occlusion on the bundled photos whose object does not fill the frame: the stored box."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from interpret.core import load_result
from interpret.data.preprocess import EFFICIENTNET_LITE0, Preprocess
from interpret.data.samples import OBJECT_BOXES, object_box, sample_photos
from interpret.deconvnet import image_specificity
from interpret.report import ReportConfig, run_report
from interpret.report.sections.occlusion import box_means


def test_box_means_split_by_occluder_centre() -> None:
    # A 3 x 3 grid of 4 x 4 occluders at stride 4 over a 12 x 12 image; the box holds the
    # centre (6, 6) of the middle occluder only.
    tops = torch.arange(0, 12, 4)
    boxes = torch.stack(
        torch.broadcast_tensors(tops[:, None], tops[None, :], tops[:, None] + 4, tops[None, :] + 4),
        -1,
    )
    prob = torch.arange(9.0).view(3, 3)
    inside, outside = box_means(prob, boxes, (5.0, 5.0, 7.0, 7.0))
    assert inside.tolist() == [4.0]
    assert sorted(outside.tolist()) == [0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0]


def test_object_box_follows_resize_and_crop() -> None:
    ((_, photo),) = sample_photos(["coffee"])  # 400 x 600
    box = OBJECT_BOXES["coffee"]
    assert object_box("coffee") == (box.top, box.left, box.bottom, box.right)
    # Plain resize to 200 x 300 halves every coordinate.
    half = Preprocess(size=(200, 300))
    assert object_box("coffee", half) == pytest.approx(
        (box.top / 2, box.left / 2, box.bottom / 2, box.right / 2)
    )
    # Shorter side to 256 (scale 0.64, 256 x 384), center crop 224: offsets 16 and 80.
    top, left, bottom, right = object_box("coffee", EFFICIENTNET_LITE0)
    assert (top, left) == pytest.approx((max(box.top * 0.64 - 16, 0), box.left * 0.64 - 80))
    assert (bottom, right) == pytest.approx((box.bottom * 0.64 - 16, box.right * 0.64 - 80))
    # The crop of the preprocessed photo equals that of the same crop of the photo.
    x = EFFICIENTNET_LITE0.apply_geometry(torch.from_numpy(photo).permute(2, 0, 1) / 255.0)
    assert tuple(x.shape[-2:]) == (224, 224)
    with pytest.raises(ValueError, match="coffee"):
        object_box("chelsea")


@pytest.mark.slow
def test_covering_the_object_lowers_its_class(tmp_path: Path) -> None:
    """On the real bundled EfficientNet-Lite0, the default report's occlusion section maps
    the boxed photos for their labelled class; the class's mean probability with the
    occluder's centre in the object's box is lower than with it elsewhere."""
    run = run_report(ReportConfig(out=tmp_path / "r", analyzers=("occlusion",), progress=False))
    record = load_result(run.out / "results" / "occlusion.pt").result
    boxes = record.info["boxes"]
    names = [run_names for run_names in record.info["images"]]
    assert len(boxes) == len(names) == len(OBJECT_BOXES)
    for row, stats in boxes.items():
        assert stats["n_inside"] > 0 and stats["n_outside"] > 0
        assert stats["inside"] < stats["outside"], (row, stats)
    # Panel (c) is drawn, as guided backpropagation (never the deconvnet fallback, which
    # without switches is image-agnostic), seeded before bn2's ReLU6 where the map is
    # capped at 6, and about its own image (own-crop minus other-crop agreement).
    projection = record.parts["projection"]
    assert record.info["rule"] == projection.rule == "guided"
    assert record.info["seed_site"] == projection.site == "bn2.drop"
    assert bool(projection.projections.flatten(1).any(1).all())
    images = torch.stack([EFFICIENTNET_LITE0(p) for _, p in sample_photos(list(OBJECT_BOXES))])
    assert float(image_specificity(projection.projections[None], images[None])[0]) > 0.03
    html = (run.out / "index.html").read_text()
    assert "centre inside the box" in html
