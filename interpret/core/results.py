"""Results: frozen dataclasses of CPU tensors and plain values, saved and loaded whole.

Every analyzer returns a subclass of :class:`Result`. ``save(path)`` writes the fields
(tensors, numbers, strings, lists, tuples, dicts and nested results) with ``torch.save``
through a temporary file that is renamed into place, so a failure never leaves a
half-written file; ``load(path)`` reads them back with ``weights_only=True``.
"""

from __future__ import annotations

import dataclasses
import html
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor

__all__ = ["Result", "atomic_write", "load_result"]

R = TypeVar("R", bound="Result")
FORMAT_VERSION = 1
_REGISTRY: dict[str, type[Result]] = {}


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

    def _repr_html_(self) -> str:
        """A table of the fields for notebooks: tensors by shape and dtype, values short."""
        rows = "".join(
            f"<tr><td><code>{html.escape(f.name)}</code></td>"
            f"<td>{html.escape(_describe(getattr(self, f.name)))}</td></tr>"
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        )
        title = html.escape(type(self).__name__)
        return f"<table><caption><b>{title}</b></caption>{rows}</table>"

    @classmethod
    def load(cls: type[R], path: str | os.PathLike[str]) -> R:
        """Read a result saved by :meth:`save`; checks that it is a ``cls``."""
        loaded = load_result(path)
        if not isinstance(loaded, cls):
            raise TypeError(f"{path} holds a {type(loaded).__name__}, not a {cls.__name__}.")
        return loaded


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"tensor {tuple(value.shape)} {str(value.dtype).removeprefix('torch.')}"
    if isinstance(value, Result):
        return type(value).__name__
    if isinstance(value, dict) and len(value) > 6:
        return f"dict of {len(value)}: {', '.join(map(str, list(value)[:6]))}, ..."
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def load_result(path: str | os.PathLike[str]) -> Result:
    """Read any saved result, whatever its type."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"No saved result at {path}.")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a result saved by interpret (or has another format).")
    return _unpack(payload["result"])
