"""The :class:`Objective`: a value per batch element that adds, scales and subtracts.

An objective maps ``(activations, output, elements)`` to one value per batch row, a
tensor of shape ``(b,)``; activation maximization *raises* it (sign convention: larger
is better). ``activations`` is the mapping that :func:`interpret.core.capture` fills in
gradient mode (site -> tensor with its graph), ``output`` the model's output (``None``
when the forward was stopped after the last site the objective reads) and ``elements``
the batch elements the rows stand for. The kinds (``channel``, ``neuron``, ...) are in
:mod:`interpret.neurons.maximization.objectives`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor

__all__ = ["Objective"]

ObjectiveFn = Callable[[Mapping[str, Tensor], "Tensor | None", Tensor], Tensor]


class Objective:
    """A value to maximize, one per batch element.

    Parameters
    ----------
    fn:
        ``fn(activations, output, elements) -> Tensor`` of shape ``(b,)``, where
        ``elements`` (``(b,)`` int64) are the batch elements the ``b`` rows of the
        activations stand for (``maximize`` may evaluate a batch in chunks).
    description:
        What it computes, e.g. ``"channel(features.10, 3)"``.
    sites:
        The activation sites ``fn`` reads (``maximize`` hooks exactly these).
    needs_output:
        Whether ``fn`` reads the model output (otherwise the forward may stop early).
    batch_size:
        ``None``: the same objective for every batch element. An int ``N``: element
        ``b`` has its own objective and the batch must have exactly ``N`` elements.
    labels:
        Short per-element labels for figures (``N`` of them, or one when
        ``batch_size is None``).
    couples:
        Whether an element's value depends on the other elements (:func:`diversity`).
    """

    def __init__(
        self,
        fn: ObjectiveFn,
        description: str,
        sites: Iterable[str] = (),
        *,
        needs_output: bool = False,
        batch_size: int | None = None,
        labels: Sequence[str] | None = None,
        couples: bool = False,
    ) -> None:
        self.fn = fn
        self.description = description
        self.sites = tuple(dict.fromkeys(sites))
        self.needs_output = needs_output
        self.batch_size = batch_size
        self.couples = couples
        self.labels = tuple(labels) if labels is not None else (description,)
        self._scaled: tuple[float, Objective] | None = None
        expected = 1 if batch_size is None else batch_size
        if len(self.labels) != expected:
            raise ValueError(f"{len(self.labels)} labels given for {expected} batch elements.")

    def __call__(
        self,
        activations: Mapping[str, Tensor],
        output: Tensor | None,
        elements: Tensor | None = None,
    ) -> Tensor:
        """The value of each row, ``(b,)``.

        ``elements`` says which batch elements the rows are (default: all, in order).
        """
        if elements is None:
            rows = _rows(activations, output, self.sites)
            if self.batch_size is not None and rows != self.batch_size:
                raise ValueError(
                    f"Objective {self.description!r} has one target per batch element and "
                    f"needs a batch of {self.batch_size}, got {rows}."
                )
            elements = torch.arange(rows)
        elif (
            self.batch_size is not None
            and elements.numel()
            and (int(elements.max()) >= self.batch_size or int(elements.min()) < 0)
        ):
            raise ValueError(
                f"Objective {self.description!r} has {self.batch_size} elements; rows for "
                f"elements up to {int(elements.max())} were given."
            )
        value = self.fn(activations, output, elements)
        if value.ndim != 1 or value.shape[0] != elements.shape[0]:
            raise ValueError(
                f"Objective {self.description!r} gave shape {tuple(value.shape)} for "
                f"{elements.shape[0]} rows; an objective returns one value per row, shape (B,)."
            )
        return value

    def element_labels(self, batch: int) -> tuple[str, ...]:
        """One short label per batch element of a batch of ``batch``."""
        return self.labels if self.batch_size is not None else self.labels * batch

    # ---- arithmetic -------------------------------------------------------------------
    def __add__(self, other: Objective | float) -> Objective:
        return _combine(self, other, "+")

    def __radd__(self, other: float) -> Objective:
        return _combine(_constant(other), self, "+") if other != 0 else self

    def __sub__(self, other: Objective | float) -> Objective:
        return _combine(self, other, "-")

    def __rsub__(self, other: float) -> Objective:
        return _combine(_constant(other), self, "-")

    def __neg__(self) -> Objective:
        return _scale(self, -1.0)

    def __mul__(self, factor: float) -> Objective:
        return _scale(self, _number(factor, "multiply"))

    __rmul__ = __mul__

    def __truediv__(self, divisor: float) -> Objective:
        divisor = _number(divisor, "divide")
        if divisor == 0:
            raise ValueError("Cannot divide an objective by zero.")
        return _scale(self, 1.0 / divisor)

    def __repr__(self) -> str:
        per = "" if self.batch_size is None else f", one per element of {self.batch_size}"
        return f"Objective({self.description}{per})"


def _number(value: object, verb: str) -> float:
    if isinstance(value, Objective):
        raise TypeError(
            f"Cannot {verb} two objectives; objectives add and subtract, and scale by numbers."
        )
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"Cannot {verb} an objective by a {type(value).__name__}; use a number.")
    return float(value)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _rows(acts: Mapping[str, Tensor], output: Tensor | None, sites: Sequence[str]) -> int:
    """Number of batch rows, from the output or the activations."""
    if isinstance(output, Tensor):
        return int(output.shape[0])
    parts = output.values() if isinstance(output, Mapping) else output
    if isinstance(parts, (tuple, list, type({}.values()))):
        for part in parts:
            if isinstance(part, Tensor):
                return int(part.shape[0])
    for site in sites:
        return int(_activation(acts, site).shape[0])
    for tensor in acts.values():
        return int(tensor.shape[0])
    raise ValueError("Cannot tell the batch size: no output and no activation was given.")


def _constant(value: float) -> Objective:
    value = _number(value, "add")

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        ref = output if isinstance(output, Tensor) else next(iter(acts.values()), None)
        if ref is None:
            return torch.full((elements.shape[0],), value)
        return torch.full((elements.shape[0],), value, dtype=ref.dtype, device=ref.device)

    return Objective(fn, _fmt(value))


def _merged_batch(a: Objective, b: Objective) -> int | None:
    if a.batch_size is not None and b.batch_size is not None and a.batch_size != b.batch_size:
        raise ValueError(
            f"Cannot combine an objective for {a.batch_size} units with one for "
            f"{b.batch_size}: per-element objectives must have the same number of elements."
        )
    return a.batch_size if a.batch_size is not None else b.batch_size


def _merged_labels(a: Objective, b: Objective, op: str, size: int | None) -> tuple[str, ...]:
    if size is None:
        return (f"{a.labels[0]} {op} {b.labels[0]}",)
    left, right = a.element_labels(size), b.element_labels(size)
    return tuple(f"{x} {op} {y}" for x, y in zip(left, right))


def _combine(a: Objective, other: Objective | float, op: str) -> Objective:
    b = other if isinstance(other, Objective) else _constant(other)
    size = _merged_batch(a, b)
    sign = 1.0 if op == "+" else -1.0

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        return a(acts, output, elements) + sign * b(acts, output, elements)

    right = f"({b.description})" if op == "-" and _is_sum(b) else b.description
    return Objective(
        fn,
        f"{a.description} {op} {right}",
        a.sites + b.sites,
        needs_output=a.needs_output or b.needs_output,
        batch_size=size,
        labels=_merged_labels(a, b, op, size),
        couples=a.couples or b.couples,
    )


def _is_sum(obj: Objective) -> bool:
    """Whether the description is a sum or difference at the top level (needs brackets)."""
    depth = 0
    text = obj.description
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text[i : i + 3] in (" + ", " - "):
            return True
    return False


def _scale(obj: Objective, factor: float) -> Objective:
    base = obj._scaled
    if base is not None:  # 2 * (0.5 * x) is 1 * x, described once
        factor, obj = factor * base[0], base[1]
    if factor == 1.0:
        return obj

    def fn(acts: Mapping[str, Tensor], output: Tensor | None, elements: Tensor) -> Tensor:
        return factor * obj(acts, output, elements)

    inner = f"({obj.description})" if _is_sum(obj) else obj.description
    text = f"-{inner}" if factor == -1.0 else f"{_fmt(factor)} * {inner}"
    labels = tuple(f"{_fmt(factor)} * {label}" for label in obj.labels)
    scaled = Objective(
        fn,
        text,
        obj.sites,
        needs_output=obj.needs_output,
        batch_size=obj.batch_size,
        labels=labels,
        couples=obj.couples,
    )
    scaled._scaled = (factor, obj)
    return scaled


def _activation(acts: Mapping[str, Tensor], site: str) -> Tensor:
    """``acts[site]``, or a ValueError that names what was captured."""
    try:
        return acts[site]
    except KeyError:
        seen = ", ".join(acts) or "nothing"
        raise ValueError(
            f"No activation for site {site!r} (captured: {seen}); was the objective "
            "evaluated on the activations of the sites it lists in .sites?"
        ) from None
