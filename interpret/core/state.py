"""Undoing what an analysis does to a model: hooks, train/eval mode, ``requires_grad``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from torch import nn
from torch.utils.hooks import RemovableHandle

__all__ = ["HookSet", "preserved_state"]


class HookSet:
    """One list of everything to undo: hook handles and reversible model rewrites.

    ``undo()`` runs every entry in reverse order, also when one of them fails, and
    raises the first failure after all have run.
    """

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def add(self, handle: RemovableHandle) -> RemovableHandle:
        self._undo.append(handle.remove)
        return handle

    def on_undo(self, action: Callable[[], None]) -> None:
        """Register an arbitrary undo action (for example putting back a replaced module)."""
        self._undo.append(action)

    def undo(self) -> None:
        first: BaseException | None = None
        while self._undo:
            action = self._undo.pop()
            try:
                action()
            except BaseException as err:  # noqa: BLE001 - re-raised below
                first = first or err
        if first is not None:
            raise first

    def __len__(self) -> int:
        return len(self._undo)


@contextmanager
def preserved_state(model: nn.Module) -> Iterator[nn.Module]:
    """Restore every submodule's ``training`` flag and every parameter's ``requires_grad``
    on exit, whatever happens inside."""
    training = [(m, m.training) for m in model.modules()]
    requires_grad = [(p, p.requires_grad) for p in model.parameters()]
    try:
        yield model
    finally:
        for module, flag in training:
            module.training = flag
        for param, flag in requires_grad:
            param.requires_grad_(flag)


def hook_count(model: nn.Module) -> int:
    """Number of forward/backward hooks on ``model`` and its submodules (for leak tests)."""
    total = 0
    for module in model.modules():
        for attr in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_backward_hooks",
            "_backward_pre_hooks",
        ):
            total += len(getattr(module, attr, {}))
    return total
