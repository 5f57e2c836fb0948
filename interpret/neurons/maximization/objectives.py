"""Objectives for activation maximization: small values that add, scale and subtract.

An :class:`~interpret.neurons.maximization.objective_base.Objective` maps ``(activations, output)``
to one value per batch element, a tensor of shape ``(B,)``; activation maximization
*raises* it (sign convention: larger is better). ``activations`` is the mapping that
:func:`interpret.core.capture` fills in gradient mode (site -> tensor with its graph),
``output`` the model's output (``None`` when the forward was stopped after the last site
the objective reads). An optional third argument, ``elements``, says which batch
elements the rows are when a batch is evaluated in chunks.

Objectives compose like numbers, as in Lucid/Lucent (Olah et al., "Feature
Visualization", Distill 2017), and each has a readable description:

>>> obj = channel("features.10", 3) - 0.5 * neuron("features.10", 3)
>>> obj.description
'channel(features.10, 3) - 0.5 * neuron(features.10, 3)'
>>> obj.sites
('features.10',)

An objective built for *several* units (``channel("features.10", range(64))``,
``class_logit([1, 2, 3])``, :func:`batch_of`) is *per element*: batch element ``b`` gets
unit ``b``, so one batched optimization visualizes all of them (``batch_size`` says how
many). An objective built for one unit applies to every batch element alike
(``batch_size is None``).

>>> many = channel("features.10", range(64))
>>> many.batch_size, many.labels[5]
(64, 'features.10 ch 5')

The kinds: :func:`class_logit` and :func:`class_probability` (Simonyan et al. 2014;
Yosinski et al. 2015), :func:`channel` (mean of a feature map), :func:`neuron` (one
position of a feature map, the centre by default), :func:`direction` (a vector in
activation space) and :func:`diversity` (Lucid's Gram-matrix diversity term, the only
objective that couples batch elements). Sites are checked against the model when
:func:`~interpret.neurons.maximization.run.maximize` starts; channel and class indices and the
spatial extent a kind needs are checked on the first forward, before any update.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import torch
from torch import Tensor

from interpret.core.validate import check_index, check_indices
from interpret.neurons.maximization.objective_base import Objective, _activation

__all__ = [
    "Objective",
    "batch_of",
    "channel",
    "class_logit",
    "class_probability",
    "direction",
    "diversity",
    "neuron",
]


# ---- helpers ---------------------------------------------------------------------------


def _units(units: int | Iterable[int], what: str) -> tuple[list[int], bool]:
    """``(list of units, per_element)``; a single int is broadcast over the batch."""
    if isinstance(units, bool):
        raise TypeError(f"{what} must be an int or a sequence of ints, not a bool.")
    if isinstance(units, int):
        return [units], False
    if isinstance(units, Tensor) and units.ndim == 0:
        return [check_index(units, what)], False
    if not isinstance(units, (Tensor, Iterable)) or isinstance(units, str):
        raise TypeError(f"{what} must be an int or a sequence of ints, not {type(units).__name__}.")
    listed = check_indices(units, what)  # 1.7 is a TypeError, not unit 1
    if not listed:
        raise ValueError(f"No {what} given: pass at least one.")
    return listed, True


def _span(units: list[int]) -> str:
    if len(units) == 1:
        return str(units[0])
    if units == list(range(units[0], units[0] + len(units))):
        return f"{units[0]}..{units[-1]}"
    if len(units) <= 6:
        return "[" + ", ".join(map(str, units)) + "]"
    return f"[{units[0]}, {units[1]}, ..., {units[-1]}] ({len(units)} units)"


def _index(units: list[int], per_element: bool, elements: Tensor, device: torch.device) -> Tensor:
    """The unit of each batch row: ``units[elements]``, or the one unit for every row."""
    if per_element:
        return torch.tensor(units)[elements.cpu()].to(device)
    return torch.full((elements.shape[0],), units[0], device=device, dtype=torch.long)


def _check_range(units: list[int], size: int, what: str, site: str, shape: tuple) -> None:
    bad = [u for u in units if not -size <= u < size]
    if bad:
        raise ValueError(
            f"{what} {bad[0]} is out of range for {site!r}, which has {size} "
            f"{what}s (activation shape {shape}); use 0..{size - 1}."
        )


def _spatial(acts: Mapping[str, Tensor], site: str, kind: str) -> Tensor:
    act = _activation(acts, site)
    if act.ndim != 4:
        raise ValueError(
            f"{kind} needs a site with spatial extent (B, C, H, W), but {site!r} gives shape "
            f"{tuple(act.shape)}; use channel() on it, or pick a convolutional site."
        )
    return act


def _logits(acts: Mapping[str, Tensor], output: Tensor | None, site: str | None) -> Tensor:
    logits = _activation(acts, site) if site is not None else output
    where = f"site {site!r}" if site is not None else "the model output"
    if not isinstance(logits, Tensor):
        raise ValueError(
            f"{where} is a {type(logits).__name__}, not a tensor of logits; pass "
            "site='name:key' to read the logits from a module."
        )
    if logits.ndim != 2:
        raise ValueError(
            f"Class objectives read logits of shape (B, classes) from {where}, which has "
            f"shape {tuple(logits.shape)}; pass site= naming the layer that gives the logits."
        )
    return logits


# ---- the objectives --------------------------------------------------------------------


def class_logit(classes: int | Iterable[int], site: str | None = None) -> Objective:
    """The pre-softmax score of a class (Simonyan et al. 2014; Yosinski et al. 2015).

    Parameters
    ----------
    classes:
        One class index (same for every batch element) or several (element ``b`` gets
        ``classes[b]``).
    site:
        Read the logits ``(B, K)`` from this site instead of the model output.
    """
    units, per = _units(classes, "class")
    desc = f"class_logit({_span(units)}" + (f", site={site})" if site else ")")

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        logits = _logits(acts, output, site)
        _check_range(units, logits.shape[1], "class", site or "output", tuple(logits.shape))
        idx = _index(units, per, elements, logits.device)
        return logits.gather(1, idx[:, None].remainder(logits.shape[1]))[:, 0]

    return Objective(
        fn,
        desc,
        (site,) if site else (),
        needs_output=site is None,
        batch_size=len(units) if per else None,
        labels=[f"class {u}" for u in units],
    )


def class_probability(
    classes: int | Iterable[int], site: str | None = None, *, log: bool = False
) -> Objective:
    """The softmax probability of a class (or its log with ``log=True``), in ``[0, 1]``.

    Raising a probability can also lower the other classes, unlike :func:`class_logit`
    (Simonyan et al. 2014 prefer the logit for that reason). To *optimize* a probability
    on a trained model, prefer ``log=True`` (the same maximizer): from noise a class's
    probability can be ~1e-18, and the gradient of ``p`` itself, ``p (1 - p)`` times that of
    the logit, then falls below Adam's epsilon, so whether ``p`` moves at all depends on
    where the seed starts.
    """
    units, per = _units(classes, "class")
    name = "class_log_probability" if log else "class_probability"
    desc = f"{name}({_span(units)}" + (f", site={site})" if site else ")")

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        logits = _logits(acts, output, site)
        _check_range(units, logits.shape[1], "class", site or "output", tuple(logits.shape))
        idx = _index(units, per, elements, logits.device)
        logp = torch.log_softmax(logits, dim=1).gather(1, idx[:, None].remainder(logits.shape[1]))
        return logp[:, 0] if log else logp[:, 0].exp()

    return Objective(
        fn,
        desc,
        (site,) if site else (),
        needs_output=site is None,
        batch_size=len(units) if per else None,
        labels=[f"p(class {u})" for u in units],
    )


def channel(site: str, channels: int | Iterable[int]) -> Objective:
    """The mean of one feature map over its positions: ``mean_{y,x} a[b, c, y, x]``.

    On a site without spatial extent (``(B, C)``, e.g. a linear layer) this is the unit
    ``a[b, c]`` itself.
    """
    units, per = _units(channels, "channel")

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        act = _activation(acts, site)
        if act.ndim < 2:
            raise ValueError(f"Site {site!r} gives shape {tuple(act.shape)}, not (B, C, ...).")
        _check_range(units, act.shape[1], "channel", site, tuple(act.shape))
        idx = _index(units, per, elements, act.device).remainder(act.shape[1])
        picked = act[torch.arange(act.shape[0], device=act.device), idx]
        return picked.flatten(1).mean(1) if picked.ndim > 1 else picked

    return Objective(
        fn,
        f"channel({site}, {_span(units)})",
        (site,),
        batch_size=len(units) if per else None,
        labels=[f"{site} ch {u}" for u in units],
    )


def neuron(
    site: str, channels: int | Iterable[int], y: int | None = None, x: int | None = None
) -> Objective:
    """One unit of a feature map: ``a[b, c, y, x]`` (the centre when ``y``/``x`` are None).

    Yosinski et al. (2015) push the centre unit of a conv layer to avoid edge effects.
    """
    units, per = _units(channels, "channel")
    where = "" if y is None and x is None else f", y={y}, x={x}"

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        act = _spatial(acts, site, "neuron()")
        _check_range(units, act.shape[1], "channel", site, tuple(act.shape))
        h, w = act.shape[2:]
        yy = h // 2 if y is None else y
        xx = w // 2 if x is None else x
        if not (-h <= yy < h and -w <= xx < w):
            raise ValueError(
                f"Position (y={yy}, x={xx}) is outside the {h}x{w} map of {site!r}; "
                "pick y, x inside it or leave them None for the centre."
            )
        idx = _index(units, per, elements, act.device).remainder(act.shape[1])
        return act[torch.arange(act.shape[0], device=act.device), idx, yy, xx]

    return Objective(
        fn,
        f"neuron({site}, {_span(units)}{where})",
        (site,),
        batch_size=len(units) if per else None,
        labels=[f"{site} ch {u} @{'centre' if y is None and x is None else (y, x)}" for u in units],
    )


def direction(site: str, vectors: Tensor, *, cosine: bool = False) -> Objective:
    """Projection of the activation vectors of a site on a direction, averaged over positions.

    ``value_b = mean_{y,x} <a[b, :, y, x], v_b> / |v_b|`` (or the cosine similarity with
    ``cosine=True``, as Lucent's ``direction``). ``vectors`` of shape ``(C,)`` is one
    direction for every element; ``(N, C)`` gives element ``b`` the direction ``v_b``.
    On a ``(B, C)`` site the mean over positions is left out.
    """
    if not isinstance(vectors, Tensor):
        raise TypeError(f"vectors must be a tensor of shape (C,) or (N, C), not {type(vectors)}.")
    if vectors.ndim not in (1, 2) or vectors.shape[-1] == 0:
        raise ValueError(f"vectors must have shape (C,) or (N, C), got {tuple(vectors.shape)}.")
    norms = vectors.double().norm(dim=-1)
    if bool((norms == 0).any()):
        raise ValueError("A direction vector is all zeros; give a non-zero direction.")
    per = vectors.ndim == 2
    unit = (vectors / vectors.norm(dim=-1, keepdim=True)).detach().clone()
    kind = "cosine" if cosine else "projection"

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        act = _activation(acts, site)
        if act.ndim not in (2, 4) or act.shape[1] != unit.shape[-1]:
            raise ValueError(
                f"direction() has vectors of length {unit.shape[-1]}, but {site!r} gives "
                f"activations of shape {tuple(act.shape)}; the length must equal the channels."
            )
        v = unit.to(device=act.device, dtype=act.dtype)
        v = v[elements.to(v.device)] if per else v.expand(act.shape[0], -1)
        vec = act if act.ndim == 2 else act.flatten(2)  # (B, C) or (B, C, HW)
        vv = v if act.ndim == 2 else v[:, :, None]
        dot = (vec * vv).sum(1)
        if cosine:
            dot = dot / vec.norm(dim=1).clamp_min(1e-12)
        return dot if dot.ndim == 1 else dot.mean(1)

    n = vectors.shape[0] if per else None
    return Objective(
        fn,
        f"direction({site}, {kind}" + (f", {n} vectors)" if per else ")"),
        (site,),
        batch_size=n,
        labels=[f"{site} dir {i}" for i in range(n or 1)],
    )


def diversity(site: str) -> Objective:
    """Lucid's diversity term: minus the mean cosine similarity of an element's Gram matrix
    ``G_b = A_b A_b^T`` (``A_b`` the ``C x HW`` activations of element ``b``) to the Gram
    matrices of the other elements; ``0`` for a batch of one.

    It is the only objective whose value for one element depends on the others, so a run
    that uses it is not the same as separate single runs. Usually added with a weight to
    an objective shared by the batch: ``channel(site, 3) + 0.1 * diversity(site)``.
    """

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        act = _spatial(acts, site, "diversity()")
        b = act.shape[0]
        if b == 1:
            return act.new_zeros(1)
        flat = act.flatten(2)
        gram = torch.nn.functional.normalize((flat @ flat.transpose(1, 2)).flatten(1), dim=1)
        sim = gram @ gram.T
        off = sim.sum(1) - sim.diagonal()
        return -off / (b - 1)

    return Objective(fn, f"diversity({site})", (site,), labels=[f"diversity {site}"], couples=True)


def batch_of(objectives: Sequence[Objective]) -> Objective:
    """One objective per batch element: element ``b`` maximizes ``objectives[b]``.

    Each member must be a single objective (``batch_size`` None) that does not couple
    elements (no :func:`diversity`); it is evaluated on element ``b`` alone.
    """
    objectives = list(objectives)
    if not objectives:
        raise ValueError("batch_of() needs at least one objective.")
    for obj in objectives:
        if not isinstance(obj, Objective):
            raise TypeError(f"batch_of() takes objectives, not {type(obj).__name__}.")
        if obj.batch_size is not None or obj.couples:
            raise ValueError(
                f"{obj.description!r} has one target per element or couples elements; "
                "batch_of() takes single objectives that act on one element."
            )

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        values = []
        for row, element in enumerate(elements.tolist()):
            obj = objectives[element]
            part = {k: _activation(acts, k)[row : row + 1] for k in obj.sites}
            out = output[row : row + 1] if isinstance(output, Tensor) else None
            values.append(obj(part, out, torch.zeros(1, dtype=torch.long)))
        return torch.cat(values)

    sites = [s for obj in objectives for s in obj.sites]
    return Objective(
        fn,
        "batch_of(" + ", ".join(o.description for o in objectives) + ")",
        sites,
        needs_output=any(o.needs_output for o in objectives),
        batch_size=len(objectives),
        labels=[o.labels[0] for o in objectives],
    )
