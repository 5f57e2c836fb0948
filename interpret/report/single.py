"""One section on its own: compute it and write its figures (the analyzer subcommands)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interpret.core import Result, atomic_write, scan
from interpret.report import sections as registry
from interpret.report.config import ReportConfig
from interpret.report.context import ReportContext
from interpret.report.style import figure_png, report_style

__all__ = ["compute_section", "draw_section"]


def compute_section(ctx: ReportContext, name: str) -> tuple[Any, dict[str, Any], Result]:
    """``(section, params, result)`` for section ``name``, with its own scans."""
    section = registry.get(name)
    reason = section.skip_reason(ctx)
    if reason is not None:
        raise ValueError(f"The {name} analyzer cannot run here: {reason}.")
    params = section.params(ctx)
    streamed: dict[str, list[Result]] = {}
    for source, analyzers in section.analyzers(ctx, params).items():
        src = ctx.source(source)
        streamed[source] = scan(
            src.model.model,
            src.data.dataset,
            list(analyzers),
            batch_size=ctx.config.batch_size,
            progress=ctx.config.progress,
        )
    return section, params, section.compute(ctx, params, streamed)


def draw_section(config: ReportConfig, name: str, output: str | Path) -> list[Path]:
    """Compute section ``name`` on ``config``'s inputs and write its figures as PNG.

    The first figure goes to ``output``, further ones to ``<stem>-2.png``, ... beside it.
    Files are written only after everything was computed (each atomically).
    """
    output = Path(output)
    registry.get(name)  # unknown names fail before any work
    registry.check_section_names(config.sections)
    ctx = ReportContext(config)
    ctx.source("main")
    section, params, result = compute_section(ctx, name)
    with report_style():
        pngs = [figure_png(f.figure) for f in section.figures(ctx, params, result)]
    paths = [output] + [
        output.with_name(f"{output.stem}-{i}{output.suffix}") for i in range(2, len(pngs) + 1)
    ]
    for path, png in zip(paths, pngs):
        atomic_write(path, lambda tmp, png=png: Path(tmp).write_bytes(png))
    return paths
