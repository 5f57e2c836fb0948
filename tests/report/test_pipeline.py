"""run_report: one scan per source, saved results reused, atomic writing, escaping."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from interpret.core import ActivationStats, load_result
from interpret.report import ReportConfig, Section, register, run_report
from interpret.report import sections as registry
from interpret.report.pipeline import MARKER, SectionRecord
from interpret.report.sections.base import Figure, Table


class _Counting(Section):
    """A test section: counts compute calls, can be told to fail."""

    name = "counting"
    title = "Counting <section>"
    defaults: dict[str, Any] = {"fail": False, "k": 1}
    calls = 0

    def analyzers(self, ctx, params):
        return {"main": [ActivationStats(ctx.sites("main")[:1], k=params["k"])]}

    def compute(self, ctx, params, streamed):
        type(self).calls += 1
        if params["fail"]:
            raise RuntimeError("the analyzer broke")
        return streamed["main"][0]

    def figures(self, ctx, params, result):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, 1])
        return [Figure("A line", fig, "caption with <b>markup</b>")]

    def tables(self, ctx, params, result):
        return [Table("names", ["image"], [[n] for n in ctx.source("main").data.item_names])]


@pytest.fixture
def counting():
    _Counting.calls = 0
    register(_Counting)
    yield _Counting
    registry.unregister("counting")


def _html_images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_report_files_and_escaping(tiny_config, counting) -> None:
    run = run_report(tiny_config(["summary", "counting"]))
    out = run.out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            MARKER,
            "figures",
            "index.html",
            "report.json",
            "report.log",
            "report.md",
            "results",
        ]
    )
    html = (out / "index.html").read_text()
    pngs = _html_images(html)
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    # User strings are escaped: the odd file name and the section's markup.
    assert "<img src=x onerror" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;x.png" in html
    assert "<b>markup</b>" not in html and "&lt;b&gt;markup&lt;/b&gt;" in html
    assert 'href="#summary"' in html and 'id="counting"' in html  # table of contents
    assert "torch" in html and "python" in html
    record = load_result(out / "results" / "summary.pt")
    assert isinstance(record, SectionRecord)
    assert record.params["k"] == 2
    assert set(record.result.sites) == set(record.params["sites"])
    md = (out / "report.md").read_text()
    assert "## Capture summary" in md and "](figures/summary-1.png)" in md
    assert (out / "figures" / "summary-1.png").is_file()
    # Wall and process CPU time per stage, and the run's CPU time.
    meta = json.loads((out / "report.json").read_text())
    assert set(meta["stages_cpu"]) == set(meta["stages"]) >= {"compute: summary", "scan: main"}
    assert all(t >= 0 for t in meta["stages_cpu"].values())
    assert meta["cpu_seconds"] > 0 and run.cpu_seconds > 0
    assert "process CPU time" in (out / "report.log").read_text()


def test_rerun_reuses_saved_results(tiny_config, counting) -> None:
    config = tiny_config(["summary", "counting"])
    first = run_report(config)
    assert counting.calls == 1 and sorted(first.computed) == ["counting", "summary"]
    saved = (first.out / "results" / "counting.pt").read_bytes()
    second = run_report(config)
    assert counting.calls == 1  # not computed again
    assert sorted(second.reused) == ["counting", "summary"] and second.computed == []
    assert (second.out / "results" / "counting.pt").read_bytes() == saved
    assert "counting: reused results/counting.pt" in (second.out / "report.log").read_text()
    # A changed parameter is a different key: computed again.
    changed = tiny_config(["summary", "counting"], sections={"counting": {"k": 2}})
    third = run_report(changed)
    assert counting.calls == 2 and third.computed == ["counting"]


def test_failed_run_leaves_earlier_report_intact(tiny_config, counting, tmp_path: Path) -> None:
    config = tiny_config(["summary", "counting"])
    run_report(config)
    out = config.out
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    failing = tiny_config(["summary", "counting"], sections={"counting": {"fail": True}})
    with pytest.raises(RuntimeError, match="the analyzer broke"):
        run_report(failing)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []


def test_failed_first_run_writes_nothing(tiny_config, counting, tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "report"
    failing = tiny_config(["counting"], out=out, sections={"counting": {"fail": True}})
    with pytest.raises(RuntimeError):
        run_report(failing)
    assert not (tmp_path / "new").exists()


def test_one_scan_per_source(tiny_config, counting, monkeypatch) -> None:
    import interpret.report.pipeline as pipeline

    calls = []
    real_scan = pipeline.scan

    def spy(model, data, analyzers, **kwargs):
        calls.append([type(a).__name__ for a in analyzers])
        return real_scan(model, data, analyzers, **kwargs)

    monkeypatch.setattr(pipeline, "scan", spy)
    run_report(tiny_config(["summary", "counting", "deconvnet"]))
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(
        ["ActivationStats", "ActivationStats", "TopActivations", "TopActivations"]
    )


def test_unknown_names_fail_before_writing(tiny_config, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown analyzer 'nope'"):
        run_report(tiny_config(["summary", "nope"]))
    with pytest.raises(ValueError, match="Unknown model"):
        run_report(tiny_config(model="resnet1800"))
    assert not (tmp_path / "out").exists()


def test_config_requires_output(tiny_config) -> None:
    with pytest.raises(ValueError, match="output folder"):
        run_report(ReportConfig(out=None))
