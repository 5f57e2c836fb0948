"""The self-contained HTML report: figures embedded as base64 PNG, every string escaped.

Rendered with jinja2 (``templates/report.html.j2``) with autoescaping on, so labels,
file names and parameters given by the user can never inject markup. A tiny inline
script records, once the page has loaded, how many images decoded and any script
error (``data-images-loaded``, ``data-images-total``, ``data-errors`` on ``<body>``),
which the browser test reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from interpret.report.style import png_data_uri

__all__ = ["RenderedFigure", "render_html", "slug", "template_environment"]

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class RenderedFigure:
    """A figure as PNG bytes, with its title, caption and file name in ``figures/``."""

    title: str
    caption: str
    png: bytes
    filename: str

    @property
    def data_uri(self) -> str:
        return png_data_uri(self.png)


def slug(text: str) -> str:
    """An HTML id from ``text`` (lower case letters, digits and dashes)."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "section"


def format_value(value: Any) -> str:
    """A parameter or table cell as short text."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(format_value(v) for v in value)
        return f"[{inner}]"
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)


@lru_cache(maxsize=2)
def template_environment(autoescape: bool) -> Any:
    """The jinja2 environment for the report templates."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = format_value
    env.filters["slug"] = slug
    return env


def render_html(sections: Sequence[Any], meta: dict[str, Any]) -> str:
    """The report page for rendered ``sections`` and run ``meta`` (versions, command, ...)."""
    template = template_environment(True).get_template("report.html.j2")
    return template.render(sections=sections, meta=meta)
