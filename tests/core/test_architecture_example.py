"""The worked example of docs/architecture.md runs: its code blocks define an analyzer, its
result, its figure and its report section; its test passes on a real (tiny) model; and
the section makes a report."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from interpret.report import sections as registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)


@pytest.fixture
def example():
    """The namespace of the page's Python blocks, run in order; the section is
    unregistered afterwards."""
    module = types.ModuleType("architecture_example")  # dataclasses look their module up
    sys.modules[module.__name__] = module
    namespace: dict[str, Any] = module.__dict__
    try:
        for block in _blocks():
            exec(compile(block, str(DOC), "exec"), namespace)
        yield namespace
    finally:
        registry.unregister("channel_means")
        del sys.modules[module.__name__]


def test_the_page_has_the_four_parts_of_an_analyzer() -> None:
    code = "\n".join(_blocks())
    for part in (
        "class ChannelMeansResult(Result)",
        "def update(",
        "def merge(",
        "def result(",
        "def plot_channel_means(",
        "class ChannelMeansSection(Section)",
        "def test_",
    ):
        assert part in code, part
    analyzer = code.split("class ChannelMeans:")[1].split("\n\n\n")[0]
    assert 25 <= len(analyzer.splitlines()) <= 45  # the analyzer itself: about 40 lines


def test_the_example_tests_pass(example, tmp_path: Path) -> None:
    tests = [name for name in example if name.startswith("test_")]
    assert tests
    for name in tests:
        example[name](tmp_path)


def test_the_example_analyzer_is_an_analyzer(example) -> None:
    from interpret.core import Analyzer

    assert isinstance(example["ChannelMeans"]("features.3"), Analyzer)
    with pytest.raises(ValueError, match="seen no images"):
        example["ChannelMeans"]("features.3").result()


@pytest.mark.slow
def test_the_example_section_makes_a_report(example, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from interpret.report import ReportConfig, run_report

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        pixels = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"image-{i}.png")
    config = ReportConfig(
        out=tmp_path / "out",
        model="interpret.testing:chain_cnn",
        data=(str(folder),),
        analyzers=("channel_means",),
        image_size=32,
        batch_size=4,
        progress=False,
    )
    run = run_report(config)
    markdown = (run.out / "report.md").read_text()
    assert "Channel means" in markdown and "| channel | mean |" in markdown
