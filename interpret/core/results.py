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
import stat
import tempfile
import zipfile
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
    "MaximizeResult": "interpret.neurons.maximization.plot:plot_maximize_grid",
    "SelectivityResult": "interpret.neurons.selectivity.plot:plot_best_neurons",
    "SparsityResult": "interpret.neurons.selectivity.plot:plot_sparsity",
    "Embedding": "interpret.embeddings.plot:plot_scatter",
    "InvarianceResult": "interpret.invariance.plot:plot_invariance",
    "ProbeResult": "interpret.probes.plot:plot_probes",
    "FilterHealthResult": "interpret.filters.plot:plot_filter_grid",
}
"""Result type name -> ``"module:function"`` drawing its main figure from the result alone."""

MOVED_MODULES: dict[str, str] = {
    "interpret.neurons.binary_codes": "interpret.neurons.selectivity.binary_codes",
    "interpret.neurons.maximize_config": "interpret.neurons.maximization.config",
    "interpret.neurons.relevance": "interpret.neurons.selectivity.relevance",
    "interpret.neurons.selectivity_result": "interpret.neurons.selectivity.result",
    "interpret.neurons.selectivity_stats": "interpret.neurons.selectivity.stats",
    "interpret.neurons.sparsity": "interpret.neurons.selectivity.sparseness",
}
"""Where result types of files saved before a module moved live now (old -> new module)."""


def _plain_write_mode(path: Path) -> int:
    """The mode a plain ``open(path, "w")`` would leave: an existing file keeps its own,
    a new one gets ``0o666`` less the process umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


def atomic_write(path: str | os.PathLike[str], write) -> Path:
    """Call ``write(tmp_path)`` and move the file to ``path`` only if it succeeded.

    The file gets the permissions a plain write would give (the umask, or the mode of
    the file it replaces), not the ``0o600`` of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _plain_write_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)
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
        cls = type(value)
        return {"__result__": cls.__qualname__, "module": cls.__module__, "fields": fields}
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


def _result_type(name: Any, module: Any) -> type[Result]:
    """The class of a saved result: its recorded module is imported first when it lies
    inside the ``interpret`` package (nothing outside it is imported)."""
    if not isinstance(name, str):
        raise ValueError(f"a result type name that is a {type(name).__name__}")
    if isinstance(module, str) and (module == "interpret" or module.startswith("interpret.")):
        module = MOVED_MODULES.get(module, module)
        cls = _REGISTRY.get(f"{module}:{name}")
        if cls is None:
            try:
                importlib.import_module(module)
            except ImportError as err:
                raise ValueError(f"result type {name!r} from {module}, which fails: {err}") from err
            cls = _REGISTRY.get(f"{module}:{name}")
        if cls is not None:
            return cls
    cls = _REGISTRY.get(name)
    if cls is None and module is None:  # saved before modules were recorded
        cls = _import_defining_module(name)
    if cls is None:
        where = f" from module {module!r}" if isinstance(module, str) else ""
        raise ValueError(
            f"result type {name!r}{where}, which is not defined (outside interpret: import "
            "the module that defines it before loading)"
        )
    return cls


def _import_defining_module(name: str) -> type[Result] | None:
    """For files saved without module names: import the ``interpret`` module whose source
    defines ``class name(``, if there is one."""
    import re

    import interpret

    root = Path(interpret.__file__).parent
    pattern = re.compile(rf"^class {re.escape(name.split('.')[-1])}\(", re.MULTILINE)
    for source in sorted(root.rglob("*.py")):
        if pattern.search(source.read_text(encoding="utf-8", errors="replace")):
            parts = source.relative_to(root.parent).with_suffix("").parts
            importlib.import_module(".".join(p for p in parts if p != "__init__"))
            if name in _REGISTRY:
                return _REGISTRY[name]
    return None


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if "__result__" in value:
            cls = _result_type(value["__result__"], value.get("module"))
            fields = value.get("fields")
            if not isinstance(fields, dict):
                raise ValueError(f"a {cls.__name__} without its fields")
            declared = dataclasses.fields(cls)  # type: ignore[arg-type]
            names = {f.name for f in declared}
            renames = getattr(cls, "renamed_fields", {})  # files saved under old names
            fields = {renames.get(k, k): v for k, v in fields.items()}
            required = {
                f.name
                for f in declared
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            }
            if not required <= set(fields) <= names:
                raise ValueError(
                    f"a {cls.__name__} with fields {sorted(map(str, fields))}, not {sorted(names)}"
                )
            return cls(**{k: _unpack(v) for k, v in fields.items()})
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
    #: Old field name -> new field name, for files saved before a rename (docs/results.md).
    renamed_fields: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__qualname__] = cls
        _REGISTRY[f"{cls.__module__}:{cls.__qualname__}"] = cls

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


def _found(path: Path) -> str:
    """What a file that ``torch.load`` refused looks like, in words."""
    with open(path, "rb") as file:
        head = file.read(64)
    if not head:
        return "an empty file"
    if zipfile.is_zipfile(path):
        return "a damaged torch.save archive"
    if head[:2] == b"PK":
        return "a truncated torch.save file"
    text = head.lstrip()
    if text[:1] in (b"{", b"["):
        return "JSON or other text"
    if head[:1] == b"\x80":
        return "a pickle, not a torch.save archive"
    try:
        head.decode("utf-8")
        return f"text starting {head[:20].decode('utf-8')!r}"
    except UnicodeDecodeError:
        return f"unknown bytes starting {head[:8].hex()}"


def load_result(path: str | os.PathLike[str]) -> Result:
    """Read any saved result, whatever its type.

    The types of the saved result and of every nested result are resolved from the
    modules recorded in the file (only modules of ``interpret`` are imported), so a
    fresh interpreter needs no manual imports.

    Raises
    ------
    ValueError
        The path is not a file, or the file is not a result saved by interpret (the
        message names the file and what was found), or was saved in another format
        version (the message names both versions).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No saved result at {path}.")
    with open(path, "rb") as file:  # a permission error is the user's OSError, as it is
        file.read(1)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch.load fails in many ways on foreign bytes
        raise ValueError(
            f"{path} is not a result saved by interpret: found {_found(path)} "
            f"({type(err).__name__})."
        ) from None
    if not isinstance(payload, dict) or "format" not in payload or "result" not in payload:
        kind = (
            f"a dict with keys {sorted(map(str, payload))[:6]}"
            if isinstance(payload, dict)
            else f"a {type(payload).__name__}"
        )
        raise ValueError(f"{path} is not a result saved by interpret: found {kind}.")
    if payload["format"] != FORMAT_VERSION:
        raise ValueError(
            f"{path} holds a result in format version {payload['format']!r}; this interpret "
            f"reads format version {FORMAT_VERSION}. Load it with the interpret version that "
            "saved it, or save it again."
        )
    packed = payload["result"]
    if not isinstance(packed, dict) or "__result__" not in packed:
        raise ValueError(
            f"{path} is not a result saved by interpret: found format {FORMAT_VERSION} "
            f"holding a {type(packed).__name__}, not a saved result."
        )
    try:
        return _unpack(packed)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path} is not a readable interpret result: found {err}.") from None
