"""Figures made without pyplot that show themselves as pictures in Jupyter.

Every plotting function of the library creates its figure here. :func:`new_figure` builds
an :class:`InlineFigure`: a plain ``matplotlib.figure.Figure`` (no pyplot, so nothing is
registered with pyplot's figure manager, no backend is selected and, in a notebook, the
inline backend's end-of-cell show never draws it a second time) that also has
``_repr_png_``. IPython asks for that when the figure is a cell's value or is passed to
``display``, so a fresh kernel shows a picture whether or not pyplot was ever imported.
When pyplot's inline backend is active it registers its own PNG printer for ``Figure``,
which then draws the same figure (once) instead.

This module imports matplotlib at import time; the plotting functions import it inside
their bodies, so ``import interpret`` does not load matplotlib.

Example
-------
>>> from interpret.core.figures import new_figure
>>> fig, ax = new_figure(figsize=(3, 2), with_axes=True)
>>> _ = ax.plot([1, 2])
>>> fig._repr_png_()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

import io
from typing import Any, Literal

from matplotlib.figure import Figure

__all__ = ["InlineFigure", "figure_of", "new_figure"]


class InlineFigure(Figure):
    """A pyplot-free ``Figure`` with a PNG representation for IPython and Jupyter."""

    def _repr_png_(self) -> bytes:
        """PNG bytes of the figure, tightly cropped on a white background."""
        buffer = io.BytesIO()
        # savefig switches to the Agg canvas for PNG and back: no pyplot, no backend.
        self.savefig(buffer, format="png", bbox_inches="tight", facecolor="white")
        return buffer.getvalue()


def new_figure(
    *,
    figsize: tuple[float, float],
    layout: Literal["constrained", "compressed", "tight"] | None = None,
    with_axes: bool = False,
) -> Any:
    """A new :class:`InlineFigure` of ``figsize`` inches (optionally with one axes).

    Parameters
    ----------
    figsize:
        ``(width, height)`` in inches.
    layout:
        Passed to ``Figure`` (``"constrained"``, ``"compressed"``, ``"tight"`` or ``None``).
    with_axes:
        Also add one subplot and return ``(figure, axes)``, the way ``plt.subplots()`` does.

    Returns
    -------
    InlineFigure, or ``(InlineFigure, Axes)`` with ``with_axes``.
    """
    if len(figsize) != 2 or min(figsize) <= 0:
        raise ValueError(f"figsize must be (width, height) in inches, both > 0; got {figsize}.")
    fig = InlineFigure(figsize=figsize, layout=layout)
    if with_axes:
        return fig, fig.add_subplot(1, 1, 1)
    return fig


def figure_of(ax: Any, **kwargs: Any) -> tuple[Any, Any]:
    """``(figure, ax)``: the figure of a given ``ax``, or a new figure with one axes.

    ``kwargs`` go to :func:`new_figure` when ``ax`` is ``None``.
    """
    if ax is None:
        return new_figure(with_axes=True, **kwargs)
    return ax.figure, ax
