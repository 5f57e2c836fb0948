"""The interface of a report section, and what it hands back to the report.

A section is one small class per analyzer with a uniform interface:

- ``analyzers(ctx, params)``: streaming analyzers per data source (``{"main": [...]}``);
  the pipeline runs *one* :func:`interpret.scan` per source for all sections together.
- ``compute(ctx, params, streamed)``: finishes the work (``streamed`` holds this
  section's scan results per source, in the order given) and returns a
  :class:`~interpret.core.Result`, saved under ``results/<name>.pt``.
- ``figures(ctx, params, result)`` and ``tables(ctx, params, result)``: what the report
  shows, drawn from the result alone (nothing is recomputed when results are reused).

Adding an analyzer to the report is adding one file in ``interpret/report/sections/``
with a :func:`register`-ed class.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from interpret.core import Result

if TYPE_CHECKING:
    from interpret.report.context import ReportContext

__all__ = ["Bundle", "Figure", "Section", "Table", "check_params"]


@dataclass(frozen=True)
class Bundle(Result):
    """Several results of one section, by name, with plain extra values.

    Attributes
    ----------
    parts:
        ``name -> Result`` (saved and loaded whole).
    info:
        Plain values the figures need (names, labels, accuracies, ...).
    """

    parts: dict
    info: dict = field(default_factory=dict)


@dataclass
class Figure:
    """A matplotlib figure with a title and caption; the pipeline renders and closes it."""

    title: str
    figure: Any
    caption: str = ""


@dataclass
class Table:
    """A small table: ``columns`` names and ``rows`` of plain values (escaped in HTML)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str = ""

    def __post_init__(self) -> None:
        width = len(self.columns)
        for row in self.rows:
            if len(row) != width:
                raise ValueError(f"Table {self.title!r}: a row has {len(row)} cells, not {width}.")


def check_params(section: str, defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict:
    """``defaults`` updated with ``given``; unknown keys are a ``ValueError``."""
    unknown = [k for k in given if k not in defaults]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(defaults), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"Unknown parameter {unknown[0]!r} for section {section!r}{hint}; known: "
            f"{', '.join(sorted(defaults)) or 'none'}."
        )
    params = dict(defaults)
    params.update(given)
    return params


class Section:
    """Base of report sections: defaults for the optional parts of the interface.

    Subclasses set ``name``, ``title``, ``paper`` (the work the figure reproduces),
    ``description`` and ``defaults`` (every tunable parameter with its default; the
    config's ``[sections.<name>]`` table overrides them), and implement ``compute`` and
    ``figures``.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    description: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    sources: ClassVar[tuple[str, ...]] = ("main",)
    version: ClassVar[int] = 1
    """Bump when the computation changes, so that saved results are not reused."""
    demo: ClassVar[str | None] = None
    """The bundled extra (``"digits"``) a demo section shows; it is part of a report only
    when that extra is (:meth:`ReportConfig.wants`) or when it is asked for by name."""

    def skip_reason(self, ctx: ReportContext) -> str | None:
        """Why this section cannot run on these inputs (``None``: it can)."""
        return None

    def params(self, ctx: ReportContext) -> dict[str, Any]:
        """The parameters of this run: defaults, config overrides, resolved choices.

        Everything that changes the result must be here (it is part of the cache key)
        and be a plain value (numbers, strings, lists, dicts).
        """
        return check_params(self.name, self.defaults, ctx.config.section_params(self.name))

    def analyzers(self, ctx: ReportContext, params: dict[str, Any]) -> dict[str, list[Any]]:
        """Streaming analyzers per source, run in the shared scan of that source."""
        return {}

    def compute(
        self, ctx: ReportContext, params: dict[str, Any], streamed: dict[str, list[Result]]
    ) -> Result:
        raise NotImplementedError

    def figures(self, ctx: ReportContext, params: dict[str, Any], result: Any) -> list[Figure]:
        raise NotImplementedError

    def tables(self, ctx: ReportContext, params: dict[str, Any], result: Any) -> list[Table]:
        return []

    def notes(self, ctx: ReportContext, params: dict[str, Any], result: Any) -> list[str]:
        """Short remarks shown under the section title (conventions, caveats)."""
        return []


@dataclass
class SectionOutput:
    """What the renderers get for one section."""

    name: str
    title: str
    paper: str
    description: str
    params: dict[str, Any]
    seconds: float
    reused: bool
    figures: list[Any] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
