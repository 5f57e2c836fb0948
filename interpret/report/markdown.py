"""The Markdown summary written beside the HTML report (figures linked from ``figures/``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from interpret.report.html import template_environment

__all__ = ["md_escape", "render_markdown"]


def md_escape(value: Any) -> str:
    """``value`` as text safe inside a Markdown table cell or paragraph."""
    text = str(value).replace("\n", " ")
    for ch in ("\\", "|", "*", "_", "`", "[", "]", "<", ">"):
        text = text.replace(ch, "\\" + ch)
    return text


def render_markdown(sections: Sequence[Any], meta: dict[str, Any]) -> str:
    """The Markdown summary for rendered ``sections`` and run ``meta``."""
    env = template_environment(False)
    env.filters["md"] = md_escape
    return env.get_template("report.md.j2").render(sections=sections, meta=meta)
