"""The HTML report in headless Chromium: every image decodes, no console message."""

from __future__ import annotations

from pathlib import Path

import pytest

from interpret.report import run_report


def _check_page(chromium_page, html: Path, screenshot: Path) -> dict[str, str]:
    attrs, console = chromium_page(html, screenshot)
    assert console == []
    assert attrs["data-errors"] == ""
    total = int(attrs["data-images-total"])
    assert total > 0
    assert attrs["data-images-loaded"] == str(total)
    assert screenshot.stat().st_size > 10_000
    return attrs


def test_small_report_in_chromium(tiny_config, chromium_page, tmp_path: Path) -> None:
    run = run_report(tiny_config(["summary", "deconvnet", "occlusion"]))
    attrs = _check_page(chromium_page, run.html, tmp_path / "screenshot.png")
    assert int(attrs["data-images-total"]) == sum(len(s.figures) for s in run.sections)


def test_broken_image_is_detected(chromium_page, tmp_path: Path) -> None:
    """The page check itself can fail: a missing image is counted as not loaded."""
    from interpret.report.html import render_html

    html = render_html(
        [],
        {
            "model": "m",
            "data": "d",
            "images": 0,
            "device": "cpu",
            "created": "",
            "seconds": 0,
            "command": "",
            "versions": {"interpret": "0"},
            "model_notes": [],
            "config": {},
        },
    )
    page = tmp_path / "broken.html"
    page.write_text(html.replace("</main>", '<img src="missing.png" alt="x"></main>'))
    attrs, console = chromium_page(page)
    assert attrs["data-images-total"] == "1" and attrs["data-images-loaded"] == "0"


@pytest.mark.slow
def test_default_report_in_chromium(chromium_page, tmp_path: Path) -> None:
    """The README's main job: ``interpret report OUT`` on the embedded default."""
    from interpret.report import available
    from interpret.report.cli import main

    out = tmp_path / "report"
    assert main(["report", str(out), "-q"]) == 0
    html = (out / "index.html").read_text()
    for name in available():
        assert f'<section id="{name.replace("_", "-")}">' in html
    attrs = _check_page(chromium_page, out / "index.html", out / "screenshot.png")
    assert int(attrs["data-images-total"]) >= len(available())
    for name in available():  # a figure from every analyzer
        assert list((out / "figures").glob(f"{name}-*.png")), name
