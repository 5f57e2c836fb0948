"""Which units get a feature visualization, and optimizing them.

:func:`parse_maximize` reads the ``--maximize`` option (``none``, ``auto``, ``all`` or
``SITE:UNITS[;SITE:UNITS]`` with units such as ``3,7,9``, ``0-15`` or ``all``);
:func:`maximize_units` turns it into ``site -> units`` for an atlas's sites (checking
every name); :func:`visualize` optimizes them with :func:`interpret.neurons.maximize`
(the ``"lucid"`` preset, one batch per site).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from interpret.neurons import SelectivityResult

__all__ = ["Spec", "best_accuracy", "maximize_units", "parse_maximize", "visualize"]

Spec = dict[str, Sequence[int] | str] | str
"""``"none"``, ``"auto"``, ``"all"``, ``"SITE:UNITS;..."`` or ``site -> units`` (or "all")."""


def parse_maximize(spec: Spec) -> dict[str, Sequence[int] | str] | str:
    """``"blocks.5:3,7,9;blocks.6:0-3"`` to ``{"blocks.5": [3, 7, 9], "blocks.6": [0, 1, 2, 3]}``.

    ``none``, ``auto``, ``all`` and dicts pass through; ``SITE:all`` gives ``"all"`` for
    that site. ``ValueError`` for text that is none of these.
    """
    if isinstance(spec, dict) or spec in ("none", "auto", "all"):
        return spec
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(
            f"maximize is 'none', 'auto', 'all' or SITE:UNITS such as 'blocks.5:3,7,9' "
            f"(several joined by ';'), not {spec!r}."
        )
    out: dict[str, Sequence[int] | str] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        site, _, units = part.rpartition(":")
        site, units = site.strip(), units.strip()
        if not site or not units:
            raise ValueError(f"Write SITE:UNITS such as 'blocks.5:3,7,9', not {part!r}.")
        if units == "all":
            out[site] = "all"
            continue
        chosen: list[int] = []
        for item in filter(None, (u.strip() for u in units.split(","))):
            first, dash, last = item.partition("-")
            try:
                chosen += list(range(int(first), int(last) + 1)) if dash else [int(item)]
            except ValueError:
                raise ValueError(
                    f"Units are numbers or ranges such as '3,7,9' or '0-15', not {item!r} "
                    f"(in {part!r})."
                ) from None
        out[site] = [*out.get(site, []), *chosen]  # type: ignore[misc]
    return out


def best_accuracy(sel: SelectivityResult) -> tuple[Tensor, Tensor, Tensor]:
    """Per unit: ``(best class, its balanced accuracy, its label +1/0/-1)``, each ``(C,)``.

    Without classes: class ``-1``, accuracy NaN, label 0.
    """
    d = sel.num_neurons
    if sel.per_class is None:
        return (
            torch.full((d,), -1),
            torch.full((d,), float("nan")),
            torch.zeros(d, dtype=torch.long),
        )
    acc = sel.per_class.classifier.balanced_accuracy.nan_to_num(-1.0)  # (G, D)
    best = acc.argmax(0)
    cols = torch.arange(d)
    accuracy = sel.per_class.classifier.balanced_accuracy[best, cols]
    return best, accuracy, sel.per_class.labels.sign[best, cols].long()


def maximize_units(
    spec: Spec,
    shapes: dict[str, tuple[int, ...]],
    sels: Sequence[SelectivityResult],
    device: torch.device,
) -> dict[str, list[int]]:
    """``site -> sorted units`` that ``spec`` names (``ValueError`` for unknown ones).

    ``spec``: ``"none"``, ``"all"``, ``"auto"`` (the 8 units of each site with the best
    single-unit class accuracy; 16 on a GPU) or ``site -> units``.
    """
    keys = list(shapes)
    spec = parse_maximize(spec)
    if isinstance(spec, dict):
        out = {}
        for site, units in spec.items():
            if site not in shapes:
                raise ValueError(f"No site {site!r} in this atlas; its sites: {', '.join(keys)}.")
            count = shapes[site][0]
            chosen = sorted({int(u) for u in (range(count) if units == "all" else units)})
            bad = [u for u in chosen if not 0 <= u < count]
            if bad:
                raise ValueError(f"No unit {bad[0]} in {site}: its units are 0..{count - 1}.")
            out[site] = chosen
        return out
    if spec == "none":
        return {}
    if spec == "all":
        return {s: list(range(shapes[s][0])) for s in keys}
    if spec != "auto":
        raise ValueError(
            f"maximize is 'none', 'auto', 'all' or site -> units ('blocks.5:3,7,9'), not {spec!r}."
        )
    budget = 16 if device.type == "cuda" else 8
    out = {}
    for s, sel in zip(keys, sels):
        _, acc, _ = best_accuracy(sel)
        order = torch.argsort(acc.nan_to_num(-1.0), descending=True, stable=True)
        out[s] = sorted(int(u) for u in order[:budget])
    return out


def visualize(
    model: nn.Module, preprocess: Any, chosen: dict[str, list[int]], size: int, steps: int
) -> dict[str, Tensor]:
    """``site -> (m, C, size, size)`` images in ``[0, 1]``, one per chosen unit, in order.

    Each site's units are optimized together (one batch) with the ``"lucid"`` preset
    (Olah et al. 2017: decorrelated Fourier parameterization, transformation robustness).
    """
    from interpret.neurons import channel, maximize, preset

    out = {}
    for site, units in chosen.items():
        if units:
            config = preset("lucid", size=size, steps=steps)
            result = maximize(model, channel(site, units), normalize=preprocess, config=config)
            out[site] = result.images.detach().float().cpu()
    return out
