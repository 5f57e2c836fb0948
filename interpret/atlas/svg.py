"""Small inline SVG charts for the unit pages (drawn as text: no matplotlib, fast)."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["bars", "histograms"]


def _num(x: float) -> str:
    return f"{x:.1f}"


def bars(
    names: Sequence[str], values: Sequence[float], highlight: int = -1, width: int = 420
) -> str:
    """Horizontal bars, one per class, zero line marked; ``highlight`` in orange."""
    if not values:
        return ""
    row, left = 14, 130
    low, high = min(0.0, min(values)), max(0.0, max(values))
    span = (high - low) or 1.0
    scale = (width - left - 50) / span
    zero = left + (-low) * scale
    parts = [
        f'<svg class="chart" width="{width}" height="{row * len(values) + 6}" '
        f'role="img" aria-label="mean activation per class">'
    ]
    for i, (name, value) in enumerate(zip(names, values)):
        y = 3 + i * row
        x0, x1 = sorted((zero, zero + value * scale))
        colour = "#e6550d" if i == highlight else "#3182bd"
        label = html.escape(name[:22])
        parts.append(
            f'<text x="{left - 4}" y="{y + 10}" text-anchor="end">{label}</text>'
            f'<rect x="{_num(x0)}" y="{y + 1}" width="{_num(max(x1 - x0, 0.5))}" height="{row - 3}"'
            f' fill="{colour}"><title>{label}: {value:.4g}</title></rect>'
            f'<text x="{_num(x1 + 3)}" y="{y + 10}">{value:.3g}</text>'
        )
    parts.append(
        f'<line x1="{_num(zero)}" x2="{_num(zero)}" y1="0" y2="{row * len(values) + 6}" '
        'stroke="#333"/></svg>'
    )
    return "".join(parts)


def histograms(
    edges: Sequence[float], group: Sequence[float], rest: Sequence[float], labels: tuple[str, str]
) -> str:
    """Two overlaid histograms (as fractions of their images) over shared ``edges``."""
    width, height, pad = 420, 150, 28
    total_g, total_r = sum(group) or 1.0, sum(rest) or 1.0
    g = [v / total_g for v in group]
    r = [v / total_r for v in rest]
    top = max(max(g, default=0), max(r, default=0)) or 1.0
    lo, hi = float(edges[0]), float(edges[-1])
    span = (hi - lo) or 1.0

    def x(v: float) -> float:
        return pad + (v - lo) / span * (width - 2 * pad)

    parts = [
        f'<svg class="chart" width="{width}" height="{height + 36}" role="img" '
        f'aria-label="histogram of {html.escape(labels[0])} against {html.escape(labels[1])}">'
    ]
    for values, colour in ((r, "#9ecae1"), (g, "#e6550d")):
        for i, v in enumerate(values):
            if v > 0:
                x0, x1 = x(float(edges[i])), x(float(edges[i + 1]))
                h = v / top * (height - 10)
                parts.append(
                    f'<rect x="{_num(x0)}" y="{_num(height - h)}" width="{_num(max(x1 - x0, 0.5))}"'
                    f' height="{_num(h)}" fill="{colour}" fill-opacity="0.6"/>'
                )
    parts.append(
        f'<line x1="{pad}" x2="{width - pad}" y1="{height}" y2="{height}" stroke="#333"/>'
        f'<text x="{pad}" y="{height + 14}">{lo:.3g}</text>'
        f'<text x="{width - pad}" y="{height + 14}" text-anchor="end">{hi:.3g}</text>'
        f'<rect x="{pad}" y="{height + 22}" width="10" height="10" fill="#e6550d"/>'
        f'<text x="{pad + 14}" y="{height + 31}">{html.escape(labels[0])}</text>'
        f'<rect x="{pad + 180}" y="{height + 22}" width="10" height="10" fill="#9ecae1"/>'
        f'<text x="{pad + 194}" y="{height + 31}">{html.escape(labels[1])}</text></svg>'
    )
    return "".join(parts)
