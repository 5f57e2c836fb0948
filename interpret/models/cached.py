"""Artefacts trained once per user and cached: where, and under which key.

The cache lives in :func:`default_cache_dir` (``$INTERPRET_CACHE``, else
``$XDG_CACHE_HOME/interpret``, else ``~/.cache/interpret``), never in a report's output
folder, so a model trained for one report is reused by every later one. Each file name
carries a key: a hash of everything that determines its contents (recipe, package
versions), so a changed recipe never reads a stale file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from interpret.core.digests import digest, file_digest

__all__ = [
    "ZFNET_RECIPE",
    "default_cache_dir",
    "digest",
    "file_digest",
    "trained_zfnet_digits",
    "zfnet_digits_key",
]

ZFNET_RECIPE: dict[str, Any] = {"epochs": 6, "lr": 0.02, "batch_size": 32, "seed": 0}
"""How the bundled ZFNet-on-digits is trained (part of its cache key)."""


def default_cache_dir() -> Path:
    """``$INTERPRET_CACHE``, else ``$XDG_CACHE_HOME/interpret``, else ``~/.cache/interpret``."""
    if os.environ.get("INTERPRET_CACHE"):
        return Path(os.environ["INTERPRET_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "interpret"


def zfnet_digits_key() -> str:
    """The cache key of :func:`trained_zfnet_digits` (recipe and package versions)."""
    import interpret

    return digest("zfnet_digits", ZFNET_RECIPE, interpret.__version__, torch.__version__)


def trained_zfnet_digits(
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """The bundled ZFNet trained on :class:`interpret.data.Digits` (train split).

    Trained once with :data:`ZFNET_RECIPE` (deterministic on CPU, about a minute) and
    cached as ``cache_dir/zfnet_digits-<key>.pt``; later calls load the cached state dict.

    Parameters
    ----------
    cache_dir:
        Where the trained weights are kept; ``None``: :func:`default_cache_dir`.
    progress:
        Unused; kept for callers that pass it.
    log:
        Called with one line before training starts.

    Returns
    -------
    (model, info)
        The model on the CPU in eval mode, and ``{"test_accuracy": float, "cached": bool,
        "path": str, "key": str}``.
    """
    from interpret.data import Digits
    from interpret.models.training import evaluate_accuracy, train_zfnet
    from interpret.models.zfnet import zfnet_digits

    key = zfnet_digits_key()
    model = zfnet_digits()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"zfnet_digits-{key}.pt"
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        info = {"test_accuracy": state["test_accuracy"], "cached": True}
        return model.eval(), {**info, "path": str(path), "key": key}
    if log is not None:
        log(f"training ZFNet on digits ({ZFNET_RECIPE['epochs']} epochs, cached in {folder})")
    recipe = ZFNET_RECIPE
    train_zfnet(
        model,
        Digits(split="train"),
        epochs=recipe["epochs"],
        lr=recipe["lr"],
        batch_size=recipe["batch_size"],
        generator=torch.Generator().manual_seed(recipe["seed"]),
    )
    accuracy = evaluate_accuracy(model, Digits(split="test"))
    from interpret.core import atomic_write

    payload = {"state_dict": model.state_dict(), "test_accuracy": accuracy}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return model.eval(), {"test_accuracy": accuracy, "cached": False, "path": str(path), "key": key}
