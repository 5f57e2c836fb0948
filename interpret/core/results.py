"""Results: frozen dataclasses of CPU tensors and plain values, saved and loaded whole.

Every analyzer returns a subclass of :class:`Result`. ``save(path)`` writes the fields
(tensors, numbers, strings, lists, tuples, dicts and nested results) with ``torch.save``
through a temporary file that is renamed into place, so a failure never leaves a
half-written file; ``load(path)`` reads them back with ``weights_only=True``.

In a notebook a result at the end of a cell shows as a card (``_repr_html_``): its type,
its ``summary()`` when it has one, its main figure and a table of its fields (tensors by
shape, dtype and range). ``result.plot(**kwargs)`` returns that main figure; the main
figure of each result type is named in ``MAIN_FIGURES`` (or by a subclass's
``main_figure`` class attribute), as ``"module:function"``, imported only when drawn.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import importlib
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor

__all__ = ["MAIN_FIGURES", "Result", "atomic_write", "load_result"]

R = TypeVar("R", bound="Result")
FORMAT_VERSION = 1
_REGISTRY: dict[str, type[Result]] = {}

MAIN_FIGURES: dict[str, str] = {
    "TopProjectionsResult": "interpret.deconvnet.plot:plot_top",
    "ProjectionResult": "interpret.deconvnet.plot:plot_projections",
    "FiltersResult": "interpret.deconvnet.plot:plot_filters",
    "EvolutionResult": "interpret.deconvnet.plot:plot_evolution",
    "CorrespondenceResult": "interpret.occlusion.plot:plot_correspondence",
    "MaximizeResult": "interpret.neurons.plot_maximize:plot_maximize_grid",
    "SelectivityResult": "interpret.neurons.plot:plot_best_neurons",
    "SparsityResult": "interpret.neurons.plot:plot_sparsity",
    "Embedding": "interpret.embeddings.plot:plot_scatter",
    "InvarianceResult": "interpret.invariance.plot:plot_invariance",
    "ProbeResult": "interpret.probes.plot:plot_probes",
    "FilterHealthResult": "interpret.filters.plot:plot_filter_grid",
}
"""Result type name -> ``"module:function"`` drawing its main figure from the result alone."""


def atomic_write(path: str | os.PathLike[str], write) -> Path:
    """Call ``write(tmp_path)`` and move the file to ``path`` only if it succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _pack(value: Any) -> Any:
    if isinstance(value, Result):
        fields = {
            f.name: _pack(getattr(value, f.name))
            for f in dataclasses.fields(value)  # type: ignore[arg-type]
        }
        return {"__result__": type(value).__qualname__, "fields": fields}
    if isinstance(value, Tensor):
        return value.detach().cpu()
    if isinstance(value, tuple):
        return {"__tuple__": [_pack(v) for v in value]}
    if isinstance(value, list):
        return [_pack(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_pack(k), _pack(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"Cannot save a {type(value).__name__} in a result; use tensors or plain values."
    )


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if "__result__" in value:
            cls = _REGISTRY.get(value["__result__"])
            if cls is None:
                raise ValueError(
                    f"Unknown result type {value['__result__']!r}; import the module that "
                    "defines it before loading."
                )
            return cls(**{k: _unpack(v) for k, v in value["fields"].items()})
        if "__tuple__" in value:
            return tuple(_unpack(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {_unpack(k): _unpack(v) for k, v in value["__dict__"]}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


class Result:
    """Base of every result dataclass: ``save``/``load`` and a registry for loading.

    Subclasses are ``@dataclass(frozen=True)`` and hold CPU tensors plus the
    parameters that produced them.
    """

    _registered: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__qualname__] = cls

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the result to ``path`` atomically; returns the path."""
        payload = {"format": FORMAT_VERSION, "result": _pack(self)}
        return atomic_write(path, lambda tmp: torch.save(payload, tmp))

    def plot(self, **kwargs: Any) -> Any:
        """The main figure of this result (a matplotlib ``Figure``, shown inline in Jupyter).

        ``kwargs`` go to the plotting function named in :data:`MAIN_FIGURES` (for example
        ``inverse=`` for deconvnet projections). Raises ``TypeError`` for a result type
        without a main figure.
        """
        target = _main_figure(type(self))
        if target is None:
            raise TypeError(
                f"{type(self).__name__} has no main figure; use the plot functions of its "
                "package (interpret.<package>.plot) with the inputs they need."
            )
        module, _, function = target.partition(":")
        return getattr(importlib.import_module(module), function)(self, **kwargs)

    def _repr_html_(self) -> str:
        """A card for notebooks: type, ``summary()``, the main figure, the fields.

        Tensors are listed by shape, dtype and range, other values shortly.
        """
        title = html.escape(type(self).__name__)
        parts = [f"<div class='interpret-result'><b>{title}</b>"]
        summary = getattr(self, "summary", None)
        if callable(summary):
            style = "font-family:monospace;font-size:85%;white-space:pre-wrap"
            parts.append(f"<pre style='{style}'>{html.escape(str(summary()))}</pre>")
        if _main_figure(type(self)) is not None:
            png = _figure_png(self.plot())
            uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            parts.append(f"<div><img src='{uri}' style='max-width:100%' alt='{title}'/></div>")
        rows = "".join(
            f"<tr><td><code>{html.escape(f.name)}</code></td>"
            f"<td>{html.escape(_describe(getattr(self, f.name)))}</td></tr>"
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        )
        parts.append(f"<table>{rows}</table></div>")
        return "".join(parts)

    @classmethod
    def load(cls: type[R], path: str | os.PathLike[str]) -> R:
        """Read a result saved by :meth:`save`; checks that it is a ``cls``."""
        loaded = load_result(path)
        if not isinstance(loaded, cls):
            raise TypeError(f"{path} holds a {type(loaded).__name__}, not a {cls.__name__}.")
        return loaded


def _main_figure(cls: type) -> str | None:
    """``"module:function"`` of the main figure of ``cls`` (or of its nearest base)."""
    for klass in cls.__mro__:
        target = klass.__dict__.get("main_figure") or MAIN_FIGURES.get(klass.__qualname__)
        if isinstance(target, str):
            return target
    return None


def _figure_png(figure: Any) -> bytes:
    """PNG bytes of a figure of the library (or any matplotlib figure), without pyplot."""
    import io

    repr_png = getattr(figure, "_repr_png_", None)
    if callable(repr_png):
        return repr_png()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        text = f"tensor {tuple(value.shape)} {str(value.dtype).removeprefix('torch.')}"
        if value.dtype == torch.bool:
            return f"{text}, {int(value.sum())} true"
        if 0 < value.numel() <= 8:
            return f"{text}: {[round(v, 4) for v in value.flatten().double().tolist()]}"
        if value.numel() and (value.is_floating_point() or value.dtype in _INTEGER):
            finite = value[torch.isfinite(value)] if value.is_floating_point() else value
            if finite.numel():
                low, high = float(finite.min()), float(finite.max())
                return f"{text}, range [{low:.4g}, {high:.4g}]"
        return text
    if isinstance(value, Result):
        return type(value).__name__
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict) and len(value) > 6:
        return f"dict of {len(value)}: {', '.join(map(str, list(value)[:6]))}, ..."
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


_INTEGER = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def load_result(path: str | os.PathLike[str]) -> Result:
    """Read any saved result, whatever its type."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No saved result at {path}.")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a result saved by interpret (or has another format).")
    return _unpack(payload["result"])
