"""Checkpoints of long scans: analyzer states every N batches, resumed exactly.

A checkpoint carries the identity of its scan (:func:`scan_identity`): every analyzer's
full configuration, a digest of the model's weights, a digest of the data, the batch
plan and the interpret version. Resuming with anything different is refused, naming
what differs.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from interpret.core.results import atomic_write

__all__ = ["ScanCheckpoint", "scan_identity", "analyzer_config", "model_digest", "data_digest"]

_PLAIN = (bool, int, float, str, type(None))
_DATA_SAMPLES = 3


def _digest_tensor(tensor: Tensor, hasher: Any) -> None:
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    hasher.update(f"{flat.dtype}{tuple(tensor.shape)}".encode())
    hasher.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")


def _describe(value: Any, depth: int = 0) -> Any:
    """A comparable, picklable description of a configuration value."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Tensor):
        hasher = hashlib.blake2b(digest_size=16)
        _digest_tensor(value, hasher)
        return ("tensor", str(value.dtype), tuple(value.shape), hasher.hexdigest())
    if isinstance(value, (tuple, list)):
        return tuple(_describe(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _describe(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(repr(_describe(v, depth + 1)) for v in value))
    if isinstance(value, nn.Module):
        return ("module", type(value).__qualname__, model_digest(value))
    if isinstance(value, torch.dtype | torch.device):
        return str(value)
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        return ("callable", getattr(value, "__module__", ""), value.__qualname__)
    if depth < 3 and hasattr(value, "__dict__"):
        public = {k: v for k, v in vars(value).items() if not k.startswith("_")}
        return (type(value).__qualname__, _describe(public, depth + 1))
    return type(value).__qualname__


def _init_params(analyzer: Any) -> list[str]:
    try:
        params = inspect.signature(type(analyzer).__init__).parameters
    except (TypeError, ValueError):
        return []
    return [name for name in params if name != "self"]


def analyzer_config(analyzer: Any) -> dict[str, Any]:
    """The full configuration of a fresh analyzer, as comparable values.

    An analyzer may define ``config()`` returning a dict of its parameters; otherwise it
    is every constructor parameter stored on the object (as ``name`` or ``_name``) plus
    every other public attribute: the values the analyzer holds before its first
    ``update``. Tensors are described by dtype, shape and a digest of their bytes.
    """
    own = getattr(analyzer, "config", None)
    if callable(own):
        described = {str(k): _describe(v, 1) for k, v in dict(own()).items()}
        return {"type": f"{type(analyzer).__module__}.{type(analyzer).__qualname__}", **described}
    state = vars(analyzer) if hasattr(analyzer, "__dict__") else {}
    names = [k for k in state if not k.startswith("_")]
    for param in _init_params(analyzer):
        for key in (param, f"_{param}"):
            if key in state and key not in names:
                names.append(key)
    config = {"type": f"{type(analyzer).__module__}.{type(analyzer).__qualname__}"}
    config.update({name: _describe(state[name]) for name in sorted(names)})
    return config


def config_keys(analyzer: Any) -> set[str]:
    """Attribute names that are parameters (kept from the new analyzer on restore)."""
    state = vars(analyzer) if hasattr(analyzer, "__dict__") else {}
    params = _init_params(analyzer)
    return {key for p in params for key in (p, f"_{p}") if key in state} - {"site", "sites"}


def model_digest(model: nn.Module) -> str:
    """A digest of every tensor of ``model.state_dict()`` (names, dtypes, shapes, bytes)."""
    hasher = hashlib.blake2b(digest_size=16)
    for name, tensor in model.state_dict().items():
        hasher.update(name.encode())
        if isinstance(tensor, Tensor):
            _digest_tensor(tensor, hasher)
    return hasher.hexdigest()


def _digest_item(item: Any, hasher: Any, depth: int = 0) -> None:
    if isinstance(item, Tensor):
        _digest_tensor(item, hasher)
    elif isinstance(item, dict):
        for key in sorted(item, key=str):
            hasher.update(str(key).encode())
            _digest_item(item[key], hasher, depth + 1)
    elif isinstance(item, (tuple, list)) and depth < 4:
        for value in item:
            _digest_item(value, hasher, depth + 1)
    else:
        hasher.update(repr(item).encode())


def data_digest(data: Any, length: int) -> dict[str, Any]:
    """Length and a digest of the data: the file list when the dataset has ``files``,
    else the bytes of a few samples (first, middle, last)."""
    hasher = hashlib.blake2b(digest_size=16)
    files = getattr(data, "files", None)
    if isinstance(files, Sequence) and not isinstance(files, str) and len(files) == length:
        for name in files:
            hasher.update(str(name).encode() + b"\0")
        return {"length": length, "files": hasher.hexdigest()}
    for position in sorted({0, length // 2, length - 1}):
        _digest_item(data[position], hasher)
    return {"length": length, "samples": hasher.hexdigest()}


def scan_identity(
    *,
    model: nn.Module,
    data: Any,
    analyzers: list[Any],
    total: int,
    batch_size: int,
    shard: Any,
    indices: Sequence[int] | None,
) -> dict[str, Any]:
    """Everything that makes a scan this scan, for :class:`ScanCheckpoint`."""
    from interpret import __version__

    hashed = None
    if indices is not None:
        hashed = hashlib.blake2b(repr(list(indices)).encode(), digest_size=16).hexdigest()
    return {
        "interpret version": __version__,
        "model weights": model_digest(model),
        "data": data_digest(data, len(data)),
        "indices": hashed,
        "length": total,
        "batch_size": batch_size,
        "shard": None if shard is None else (shard.rank, shard.world),
        "batches_total": math.ceil(total / batch_size),
        "analyzers": [analyzer_config(a) for a in analyzers],
    }


def _differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out = []
    for key in dict.fromkeys([*saved, *now]):
        old, new = saved.get(key), now.get(key)
        if old == new:
            continue
        if (
            key == "analyzers"
            and isinstance(old, list)
            and isinstance(new, list)
            and len(old) == len(new)
        ):
            for i, (a, b) in enumerate(zip(old, new)):
                for name in dict.fromkeys([*a, *b]):
                    if a.get(name) != b.get(name):
                        label = b.get("type", "").rsplit(".", 1)[-1]
                        out.append(
                            f"analyzer {i} ({label}) {name}: {_short(a.get(name))} in the "
                            f"checkpoint, {_short(b.get(name))} now"
                        )
        else:
            out.append(f"{key}: {_short(old)} in the checkpoint, {_short(new)} now")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ScanCheckpoint:
    """Saves and restores the analyzers of one scan.

    The file holds the pickled analyzers, the number of batches done and the scan's
    identity (:func:`scan_identity`). A file whose identity differs is refused with a
    ``ValueError`` naming what differs, so a checkpoint never resumes a different scan.
    Restoring loads each analyzer's streaming state and keeps the new analyzer's
    parameters. The file is written atomically and removed once the scan completes.

    Loading unpickles Python objects (``weights_only=False``): only resume from
    checkpoints you wrote yourself.
    """

    def __init__(self, path: str | os.PathLike[str], every: int, fingerprint: dict[str, Any]):
        if isinstance(every, bool) or not isinstance(every, int):
            raise TypeError(f"checkpoint_every must be an int, got {type(every).__name__}.")
        if every < 1:
            raise ValueError(f"checkpoint_every must be at least 1 batch, got {every}.")
        self.path = Path(path)
        self.every = every
        self.fingerprint = fingerprint

    def restore(self, analyzers: list[Any]) -> int:
        """Load saved states into ``analyzers``; returns the number of batches done."""
        if not self.path.is_file():
            return 0
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as err:  # noqa: BLE001 - any unreadable file is the same refusal
            raise ValueError(
                f"The checkpoint {self.path} cannot be read ({type(err).__name__}: {err}); "
                "delete it or pass another checkpoint path."
            ) from err
        if not isinstance(saved, dict) or "fingerprint" not in saved:
            raise ValueError(
                f"{self.path} is not a scan checkpoint; delete it or pass another path."
            )
        differs = _differences(saved["fingerprint"], self.fingerprint)
        if differs:
            raise ValueError(
                f"The checkpoint {self.path} belongs to a different scan: "
                + "; ".join(differs)
                + ". Delete it or pass another checkpoint path."
            )
        for analyzer, state in zip(analyzers, saved["analyzers"]):
            if type(state) is not type(analyzer):
                raise ValueError(f"The checkpoint {self.path} holds other analyzer types.")
            keep = config_keys(analyzer)
            analyzer.__dict__.update({k: v for k, v in vars(state).items() if k not in keep})
        return int(saved["batches"])

    def maybe_save(self, analyzers: list[Any], batches: int) -> None:
        if batches % self.every == 0:
            payload = {"fingerprint": self.fingerprint, "batches": batches, "analyzers": analyzers}
            atomic_write(self.path, lambda tmp: torch.save(payload, tmp))

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)
