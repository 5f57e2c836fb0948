"""Figure style of reports, and turning figures into PNG bytes.

Matplotlib is imported inside the functions only.
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator
from typing import Any

__all__ = ["REPORT_RC", "figure_png", "png_data_uri", "report_style"]

REPORT_RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.interpolation": "nearest",
    "figure.constrained_layout.use": False,
}
"""rcParams applied while a report's figures are drawn."""


@contextlib.contextmanager
def report_style() -> Iterator[None]:
    """Context manager: the report's rcParams, restored on exit."""
    import matplotlib

    with matplotlib.rc_context(REPORT_RC):
        yield


def figure_png(figure: Any, dpi: int = 100, close: bool = True) -> bytes:
    """Render a matplotlib figure to PNG bytes (and close it unless ``close=False``)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    finally:
        if close:
            plt.close(figure)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI for embedding PNG bytes in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
