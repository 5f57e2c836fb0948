"""``run_report``: every requested section in as few passes as possible, written atomically.

1. Check the inputs (model, data, analyzer names, output folder) before writing anything.
2. Build the report in a temporary sibling folder ``.<out>.tmp-*``.
3. For each section, look for a saved result under ``<out>/results/<name>.pt`` whose key
   (hash of the section, its parameters, the model and data keys, the interpret
   version) matches; reuse it, or else compute it. The streaming analyzers of all
   sections to compute share one :func:`interpret.scan` per (model, dataset).
4. Save every result, draw the figures, write ``index.html``, ``report.md``,
   ``report.json``, ``figures/`` and ``results/``.
5. Move the new folder into place (the previous report is replaced only now); on any
   failure the temporary folder is removed and an earlier report stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from interpret.core import Result, load_result, scan
from interpret.report import sections as registry
from interpret.report.config import ReportConfig
from interpret.report.context import ReportContext
from interpret.report.sections.base import SectionOutput
from interpret.report.style import figure_png, report_style

__all__ = ["MARKER", "ReportRun", "SectionRecord", "run_report", "section_key", "versions"]

MARKER = ".interpret-report"
"""File that marks a folder as a report (only such folders are replaced)."""


@dataclass(frozen=True)
class SectionRecord(Result):
    """A section's saved result with the key and parameters that produced it."""

    section: str
    key: str
    params: dict
    result: Result
    seconds: float


@dataclass
class ReportRun:
    """What :func:`run_report` did."""

    out: Path
    sections: list[SectionOutput]
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    @property
    def html(self) -> Path:
        return self.out / "index.html"

    @property
    def markdown(self) -> Path:
        return self.out / "report.md"


def versions() -> dict[str, str]:
    """Versions of Python, torch and the main libraries, and the device."""
    import matplotlib
    import numpy
    import torchvision

    import interpret

    out = {
        "interpret": interpret.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "platform": platform.platform(),
    }
    try:
        import timm

        out["timm"] = timm.__version__
    except ImportError:  # pragma: no cover - timm is a dependency
        pass
    return out


def section_key(name: str, version: int, params: dict[str, Any], sources: dict[str, str]) -> str:
    """The cache key of a section result."""
    import interpret

    text = json.dumps(
        {
            "section": name,
            "version": version,
            "params": params,
            "sources": sources,
            "interpret": interpret.__version__,
        },
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder; choose another output folder.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ValueError(
            f"{out} is a folder that holds other files and no earlier report; choose a new "
            "or empty output folder (a report replaces its folder)."
        )


def _missing_parents(path: Path) -> list[Path]:
    missing = []
    for parent in path.absolute().parents:
        if parent.exists():
            break
        missing.append(parent)
    return missing


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


class _Log:
    def __init__(self, progress: bool, sink: Callable[[str], None] | None) -> None:
        self.lines: list[str] = []
        self.progress, self.sink = progress, sink

    def __call__(self, message: str) -> None:
        self.lines.append(message)
        if self.sink is not None:
            self.sink(message)
        elif self.progress:
            from interpret.core.progress import tqdm_class

            tqdm_class().write(f"interpret: {message}", file=sys.stderr)


def run_report(
    config: ReportConfig,
    *,
    log: Callable[[str], None] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ReportRun:
    """Run the sections of ``config`` and write the report to ``config.out``.

    Parameters
    ----------
    config:
        What to run on (see :class:`~interpret.report.config.ReportConfig`).
    log:
        Receives one-line progress messages (``"deconvnet: reused results/deconvnet.pt"``);
        default: printed to stderr when ``config.progress``.
    cache_dir:
        Where trained models are kept between reports (default: the user's cache,
        ``$INTERPRET_CACHE`` or ``~/.cache/interpret``).

    Returns
    -------
    ReportRun
        The folder, the sections, which were computed and which reused.

    Raises
    ------
    ValueError, TypeError, FileNotFoundError
        Bad inputs (unknown model or analyzer, missing data, unreadable image, an
        output folder that is not a report); nothing is written.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    if config.out is None:
        raise ValueError("The report needs an output folder.")
    out = Path(config.out)
    _check_out(out)
    names = registry.resolve_names(config.analyzers, config.wants)
    registry.check_section_names(config.sections)
    logger = _Log(config.progress, log)
    ctx = ReportContext(config, cache_dir=cache_dir, log=logger)  # checks the device
    created = _missing_parents(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        ctx.source("main")  # fails early on a bad model or bad data
        run = _run_sections(ctx, names, out, tmp, logger)
        run.seconds = time.perf_counter() - start
        run.cpu_seconds = time.process_time() - cpu_start
        _write_report(ctx, run, tmp, logger)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for parent in created:
            with_contents = parent.exists() and any(parent.iterdir())
            if parent.exists() and not with_contents:
                parent.rmdir()
        raise
    run.out = out
    logger(f"wrote {out / 'index.html'} in {run.seconds:.0f} s")
    return run


def _load_saved(path: Path, key: str) -> SectionRecord | None:
    if not path.is_file():
        return None
    try:
        record = load_result(path)
    except (ValueError, RuntimeError, OSError, KeyError, TypeError, EOFError):
        return None
    if not isinstance(record, SectionRecord) or record.key != key:
        return None
    return record


def _run_sections(
    ctx: ReportContext, names: list[str], out: Path, tmp: Path, log: _Log
) -> ReportRun:
    (tmp / "results").mkdir()
    run = ReportRun(out=tmp, sections=[])
    plans: list[dict[str, Any]] = []
    for name in names:
        section = registry.get(name)
        reason = section.skip_reason(ctx)
        if reason is not None:
            log(f"{name}: skipped ({reason})")
            run.skipped.append(name)
            plans.append({"section": section, "skipped": reason})
            continue
        params = section.params(ctx)
        key = section_key(
            name, section.version, params, {s: ctx.source_key(s) for s in section.sources}
        )
        saved = _load_saved(out / "results" / f"{name}.pt", key)
        plans.append({"section": section, "params": params, "key": key, "saved": saved})
    # One scan per source for all streaming analyzers of the sections to compute.
    wanted: dict[str, list[tuple[int, Any]]] = {}
    streams: list[dict[str, list[Any]]] = []
    for i, plan in enumerate(plans):
        streams.append({})
        if plan.get("skipped") or plan["saved"] is not None:
            continue
        for source, analyzers in plan["section"].analyzers(ctx, plan["params"]).items():
            streams[i][source] = list(analyzers)
            wanted.setdefault(source, []).extend((i, a) for a in analyzers)
    streamed: list[dict[str, list[Result]]] = [{} for _ in plans]
    for source, pairs in wanted.items():
        src = ctx.source(source)
        users = sorted({plans[i]["section"].name for i, _ in pairs})
        log(f"scan of {src.data.name} with {src.model.name} for {', '.join(users)}")
        with ctx.stage(f"scan: {source}"):
            results = scan(
                src.model.model,
                src.data.dataset,
                [a for _, a in pairs],
                batch_size=ctx.config.batch_size,
                progress=ctx.config.progress,
                num_workers=_workers(src.data.dataset, ctx.device),
            )
        for (i, _), result in zip(pairs, results):
            streamed[i].setdefault(source, []).append(result)
    from interpret.core.progress import progress_bar

    bar = progress_bar(
        total=len(plans), disable=not ctx.config.progress, desc="sections", unit="section"
    )
    for i, plan in enumerate(plans):
        section = plan["section"]
        bar.set_postfix_str(section.name)
        if plan.get("skipped"):
            run.sections.append(
                SectionOutput(
                    section.name,
                    section.title,
                    section.paper,
                    section.description,
                    {},
                    0.0,
                    False,
                    skipped=plan["skipped"],
                )
            )
            bar.update(1)
            continue
        record = plan["saved"]
        if record is not None:
            log(f"{section.name}: reused results/{section.name}.pt")
            shutil.copy2(out / "results" / f"{section.name}.pt", tmp / "results")
            run.reused.append(section.name)
        else:
            log(f"{section.name}: computing")
            t0 = time.perf_counter()
            with ctx.stage(f"compute: {section.name}"):
                result = section.compute(ctx, plan["params"], streamed[i])
            if not isinstance(result, Result):
                raise TypeError(f"Section {section.name!r} returned a {type(result).__name__}.")
            record = SectionRecord(
                section.name,
                plan["key"],
                _json_safe(plan["params"]),
                result,
                time.perf_counter() - t0,
            )
            record.save(tmp / "results" / f"{section.name}.pt")
            run.computed.append(section.name)
        with ctx.stage(f"figures: {section.name}"):
            rendered = _render_section(ctx, section, record, tmp, plan["saved"] is not None)
        run.sections.append(rendered)
        bar.update(1)
    bar.close()
    return run


def _render_section(
    ctx: ReportContext, section: Any, record: SectionRecord, tmp: Path, reused: bool
) -> SectionOutput:
    from interpret.report.html import RenderedFigure

    params = record.params
    output = SectionOutput(
        section.name,
        section.title,
        section.paper,
        section.description,
        params,
        record.seconds,
        reused,
    )
    (tmp / "figures").mkdir(exist_ok=True)
    with report_style():
        figures = section.figures(ctx, params, record.result)
        for j, fig in enumerate(figures):
            png = figure_png(fig.figure)
            path = tmp / "figures" / f"{section.name}-{j + 1}.png"
            path.write_bytes(png)
            output.figures.append(RenderedFigure(fig.title, fig.caption, png, path.name))
    output.tables = list(section.tables(ctx, params, record.result))
    output.notes = list(section.notes(ctx, params, record.result))
    return output


def _write_report(ctx: ReportContext, run: ReportRun, tmp: Path, log: _Log) -> None:
    from interpret.report.html import render_html
    from interpret.report.markdown import render_markdown

    meta = {
        "command": ctx.config.command or "interpret report",
        "created": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "seconds": round(run.seconds, 1),
        "versions": versions(),
        "device": str(ctx.device),
        "model": ctx.source("main").model.name,
        "data": ctx.source("main").data.name,
        "images": len(ctx.source("main").data.item_names),
        "classes": list(ctx.data_classes("main")),
        "skipped_images": list(ctx.source("main").data.skipped),
        "model_notes": list(ctx.source("main").model.notes),
        "stages": {name: round(t, 2) for name, t in ctx.timings.items()},
        "stages_cpu": {name: round(t, 2) for name, t in ctx.cpu_timings.items()},
        "cpu_seconds": round(run.cpu_seconds, 1),
        "computed": run.computed,
        "reused": run.reused,
        "skipped": run.skipped,
        "config": _json_safe(_config_dict(ctx.config)),
    }
    (tmp / "index.html").write_text(render_html(run.sections, meta), encoding="utf-8")
    (tmp / "report.md").write_text(render_markdown(run.sections, meta), encoding="utf-8")
    (tmp / "report.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    stages = [
        f"{t:8.1f} s  {ctx.cpu_timings.get(name, 0.0):8.1f} s  {name}"
        for name, t in ctx.timings.items()
    ]
    lines = [*log.lines, "", "wall time per stage, then process CPU time (all threads):", *stages]
    (tmp / "report.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp / MARKER).write_text("interpret report\n", encoding="utf-8")


def _workers(dataset: Any, device: torch.device) -> int:
    """DataLoader workers for a scan: on a GPU, decoding files in worker processes keeps
    the device busy; on the CPU the workers would take cores from the model."""
    reads_files = hasattr(dataset, "files") or hasattr(getattr(dataset, "dataset", None), "files")
    return min(4, os.cpu_count() or 1) if device.type == "cuda" and reads_files else 0


def _config_dict(config: ReportConfig) -> dict[str, Any]:
    import dataclasses

    values = dataclasses.asdict(config)
    values["out"] = str(config.out)
    return values


def _usual_permissions(folder: Path) -> None:
    """Temporary files and folders are private (0600/0700); give the report the usual ones."""
    mask = os.umask(0)
    os.umask(mask)
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)


def _swap_into_place(tmp: Path, out: Path) -> None:
    _usual_permissions(tmp)
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
