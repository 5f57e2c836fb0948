"""The capture core: forward hooks on named sites, removed on every exit path."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import torch
from torch import Tensor, nn

from interpret.core.sites import (
    Site,
    SiteSelector,
    exact_sites,
    missing_call_message,
    resolve_sites,
)
from interpret.core.state import HookSet, preserved_state
from interpret.core.validate import check_model

__all__ = ["capture", "Captured", "CaptureMode", "checked_forward"]

CaptureMode = Literal["observe", "grad"]


class Captured(Mapping[str, Tensor]):
    """The activations of the last forward pass, keyed by site.

    A module called several times in one forward gives ``name``, ``name#1``, ... in
    call order. The store is cleared whenever the model's own forward starts, so it
    always holds exactly one forward's activations, in the order the forward made them.
    """

    def __init__(self, sites: list[Site], calls: Iterable[Site] = ()) -> None:
        self.sites = sites
        self._wanted_calls = [site for site in calls if site.call is not None]
        self._store: dict[str, Tensor] = {}
        self._calls: dict[Site, int] = {}
        self._keep: frozenset[str] | None = None

    def clear(self) -> None:
        self._store.clear()
        self._calls.clear()

    def keep_only(self, keys: Iterable[str] | None) -> None:
        """Store only these keys from now on (calls are still counted); ``None``: all.

        :func:`interpret.scan` uses it once the analyzers' sites are known, so a hooked
        module whose other calls nobody reads costs no copies.
        """
        self._keep = None if keys is None else frozenset(keys)

    def _next_key(self, site: Site) -> str | None:
        """Count one call of ``site``; its key, or ``None`` when it is not to be stored."""
        count = self._calls.get(site, 0)
        self._calls[site] = count + 1
        key = str(site) if count == 0 else f"{site}#{count}"
        return None if self._keep is not None and key not in self._keep else key

    def check_calls(self) -> None:
        """``ValueError`` for an exact ``name#k`` the last forward did not reach."""
        for site in self._wanted_calls:
            calls = self._calls.get(site.hooked, 0)
            if calls <= (site.call or 0):
                keys = [str(site.hooked)] + [f"{site.hooked}#{i}" for i in range(1, calls)]
                raise ValueError(missing_call_message(site, keys[:calls]))

    def __getitem__(self, key: str) -> Tensor:
        try:
            return self._store[key]
        except KeyError:
            seen = ", ".join(self._store) or "nothing (was the model called?)"
            raise KeyError(f"No activation captured for {key!r}; captured: {seen}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._store)

    def __len__(self) -> int:
        return len(self._store)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self._store.items())
        return f"Captured({shapes})"


def select_output(site: Site, output: Any) -> Tensor:
    """The tensor a site stands for, given its module's output."""
    if isinstance(output, Tensor):
        if site.key is not None:
            raise ValueError(f"Site {site} names key {site.key!r} but the module returns a tensor.")
        return output
    if isinstance(output, (tuple, list)):
        if site.key is None:
            raise ValueError(
                f"Module {site.module!r} returns a {type(output).__name__} of "
                f"{len(output)}; pick one element with '{site.module}:0' (or another index)."
            )
        try:
            chosen = output[int(site.key)]
        except (ValueError, IndexError):
            raise ValueError(
                f"Site {site}: {site.key!r} is not an index below {len(output)}."
            ) from None
    elif isinstance(output, Mapping):
        if site.key is None or site.key not in output:
            keys = ", ".join(f"'{site.module}:{k}'" for k in output)
            raise ValueError(f"Module {site.module!r} returns a dict; pick one of {keys}.")
        chosen = output[site.key]
    else:
        raise ValueError(
            f"Module {site.module!r} returns {type(output).__name__}, not a tensor, tuple "
            "or dict; choose another site."
        )
    if not isinstance(chosen, Tensor):
        raise ValueError(f"Site {site} holds a {type(chosen).__name__}, not a tensor.")
    return chosen


@contextmanager
def capture(
    model: nn.Module,
    sites: SiteSelector | Iterable[SiteSelector],
    mode: CaptureMode = "observe",
) -> Iterator[Captured]:
    """Record the outputs of named modules while the block runs.

    Parameters
    ----------
    model:
        Any ``nn.Module``, on any device.
    sites:
        Names (``"features.3"``, ``"block:0"`` for a tuple element, ``"layer1.0.relu#1"``
        for the second call of a module), glob patterns (``"features.*"``) or module
        classes; see :func:`interpret.core.sites.resolve_sites`. Each module is hooked
        once and every call of it is recorded (``name``, ``name#1``, ...); a ``#k`` the
        forward does not reach raises ``ValueError`` when the forward ends.
    mode:
        ``"observe"`` stores ``output.detach().clone()``: an in-place op after the site
        (``nn.ReLU(inplace=True)``) cannot change what was captured. ``"grad"`` stores
        ``output.clone()`` with its graph, for objectives that backpropagate to the input.

    Yields
    ------
    Captured
        A mapping ``site -> tensor`` refilled by every forward of ``model``.

    Hooks are removed and every module's ``training`` flag and every parameter's
    ``requires_grad`` restored on exit, also when the block raises.

    Example
    -------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True))
    >>> with capture(net, "0") as acts:
    ...     _ = net(torch.randn(1, 3, 8, 8))
    >>> tuple(acts["0"].shape)
    (1, 4, 6, 6)
    """
    check_model(model)
    if mode not in ("observe", "grad"):
        raise ValueError(f"mode must be 'observe' or 'grad', not {mode!r}.")
    resolved = resolve_sites(model, sites)
    captured = Captured(resolved, exact_sites(sites))
    modules = dict(model.named_modules())
    hooks = HookSet()
    detach = mode == "observe"

    def make_hook(site: Site):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            key = captured._next_key(site)
            if key is not None:
                tensor = select_output(site, output)
                captured._store[key] = tensor.detach().clone() if detach else tensor.clone()

        return hook

    with preserved_state(model):
        try:
            hooks.add(model.register_forward_pre_hook(lambda *_: captured.clear()))
            for site in dict.fromkeys(s.hooked for s in resolved):
                hooks.add(modules[site.module].register_forward_hook(make_hook(site)))
            if captured._wanted_calls:
                hooks.add(model.register_forward_hook(lambda *_: captured.check_calls()))
            yield captured
        finally:
            hooks.undo()


def run_and_capture(
    model: nn.Module, inputs: Tensor, sites: SiteSelector | Iterable[SiteSelector]
) -> tuple[Any, dict[str, Tensor]]:
    """One forward under ``torch.inference_mode``; returns ``(output, activations)``."""
    with capture(model, sites) as acts, torch.inference_mode():
        output = model(inputs)
    return output, dict(acts)


class StopForward(Exception):
    """Raise from a forward hook once everything needed has been seen:
    :func:`checked_forward` then returns ``None`` without running the rest of the model."""


def checked_forward(model: nn.Module, inputs: Tensor, check: bool = True) -> Any:
    """``model(inputs)``, turning the model's refusal of the input into a clear ``ValueError``.

    A ``RuntimeError`` raised by the forward (wrong channel count, an image too small for
    the network's poolings, a dtype the weights do not take) becomes a ``ValueError`` that
    names the input shape and dtype; with ``check=False`` (every pass after the first
    one, which already showed that the model takes such inputs) it passes through as the
    model raised it. Out-of-memory errors are re-raised as they are. A hook that raises
    :class:`StopForward` ends the pass early: the result is ``None``.
    """
    try:
        return model(inputs)
    except StopForward:
        return None
    except torch.cuda.OutOfMemoryError:
        raise
    except RuntimeError as err:
        if not check:
            raise
        raise ValueError(
            f"The model could not run on inputs of shape {tuple(inputs.shape)} "
            f"({inputs.dtype}): {err}. Check the input size, channels and preprocessing "
            "the model expects."
        ) from err
