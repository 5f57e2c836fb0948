"""Where each position of a site looks in the input: one box per row and per column.

Two ways to get it:

* **Chain CNNs** (AlexNet, VGG, ZFNet, ``nn.Sequential`` stacks): the exact receptive
  field from the layer geometry, :func:`interpret.core.receptive.receptive_field`. It holds
  for any input size.
* **Any other model** (residual blocks, EfficientNet): *gradient support*. For each row
  ``y`` of the site the gradient of ``sum_c,x w_cx a[c, y, x]`` (random positive ``w``)
  with respect to a random input is computed; the input rows with a non-zero gradient are
  the rows the field of row ``y`` covers. Columns likewise. This is measured once per site
  and input size (``H' + W'`` backward passes per probe, batched), and is a property of
  the input size, so the grid is bound to it. A unit whose path to a pixel is switched off
  for one random input (a ReLU below zero, a max-pool choosing another input) is found
  with another: the union over ``probes`` random inputs is taken.

Rows and columns are separable for convolutions and poolings (a field is a rectangle whose
row extent depends only on ``y``), so the grid stores ``rows`` ``(H', 2)`` and ``cols``
``(W', 2)`` and the box of ``(y, x)`` is ``(rows[y, 0], cols[x, 0], rows[y, 1], cols[x, 1])``,
half-open, in input pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from interpret.core import HookSet, Site, get_module, model_device, preserved_state, select_output
from interpret.core.receptive import ReceptiveField, receptive_field

__all__ = ["FieldGrid", "site_fields", "gradient_fields", "chain_fields"]


@dataclass(frozen=True)
class FieldGrid:
    """Receptive-field boxes of every position of a site, for one input size.

    Attributes
    ----------
    rows:
        ``(H', 2)`` int64: half-open input rows ``[top, bottom)`` seen by row ``y``,
        clipped to the input.
    cols:
        ``(W', 2)`` int64: likewise for columns.
    nominal:
        ``(h, w)``: the size of an unclipped field (exact for chain CNNs; for gradient
        support the largest measured extent, which is the unclipped size wherever some
        position's field lies wholly inside the input).
    rows_full, cols_full:
        Like ``rows``/``cols`` but not clipped (may start below 0 or end past the input):
        exact for chain CNNs; for gradient support fitted as ``offset + stride * y`` on
        the unclipped rows (or, when every field is clipped, centred on the position's
        share of the input). Used only to draw a field as the network sees it, with the
        zero padding outside the image.
    input_size:
        ``(H, W)`` the grid was made for.
    method:
        ``"chain"`` or ``"gradient"``.
    """

    rows: Tensor
    cols: Tensor
    nominal: tuple[int, int]
    input_size: tuple[int, int]
    method: str
    rows_full: Tensor
    cols_full: Tensor

    @property
    def map_size(self) -> tuple[int, int]:
        return int(self.rows.shape[0]), int(self.cols.shape[0])

    def boxes(self, y0: Tensor, x0: Tensor, y1: Tensor | None = None, x1: Tensor | None = None):
        """Boxes ``(M, 4)`` (top, left, bottom, right) covering positions ``y0..y1, x0..x1``.

        ``y1``/``x1`` (inclusive, default ``y0``/``x0``) give the far corner of a
        neighbourhood; its field is the union of its units' fields.
        """
        y1 = y0 if y1 is None else y1
        x1 = x0 if x1 is None else x1
        rows, cols = self.rows.to(y0.device), self.cols.to(y0.device)
        return torch.stack([rows[y0, 0], cols[x0, 0], rows[y1, 1], cols[x1, 1]], dim=-1)

    def full_boxes(self, y0: Tensor, x0: Tensor, y1: Tensor, x1: Tensor) -> Tensor:
        """Like :meth:`boxes` but unclipped (see ``rows_full``)."""
        rows, cols = self.rows_full.to(y0.device), self.cols_full.to(y0.device)
        return torch.stack([rows[y0, 0], cols[x0, 0], rows[y1, 1], cols[x1, 1]], dim=-1)

    def box(self, y: int, x: int) -> tuple[int, int, int, int]:
        """``(top, left, bottom, right)`` of position ``(y, x)``, half-open, clipped."""
        return (
            int(self.rows[y, 0]),
            int(self.cols[x, 0]),
            int(self.rows[y, 1]),
            int(self.cols[x, 1]),
        )


class _Reached(Exception):
    """Raised by a hook to stop the forward pass once the site has been computed."""

    def __init__(self, value: Tensor) -> None:
        super().__init__("site reached")
        self.value = value


def run_to_site(model: nn.Module, site: str, x: Tensor) -> Tensor:
    """The site's output for input ``x``, without running the layers after it.

    The forward is cut short by a hook on the site's module (at the call ``#k`` names,
    else its first), which is removed again on every exit path. Gradients flow as usual
    when enabled.
    """
    parsed = Site.parse(site)
    module = get_module(model, parsed.module)
    hooks = HookSet()
    calls = 0

    def hook(_module: nn.Module, _inputs: object, output: object) -> None:
        nonlocal calls
        calls += 1
        if calls > (parsed.call or 0):
            raise _Reached(select_output(parsed, output))

    hooks.add(module.register_forward_hook(hook))
    try:
        model(x)
    except _Reached as reached:
        return reached.value
    finally:
        hooks.undo()
    if calls:
        raise ValueError(f"{parsed.module} is called {calls} times per forward; no #{parsed.call}.")
    raise ValueError(f"Site {site!r} is never called in the model's forward pass.")


def input_channels(model: nn.Module, default: int = 3) -> int:
    """Channels the model takes: ``in_channels`` of its first ``Conv2d`` (else ``default``)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return int(module.in_channels)
    return default


def _map_size(
    model: nn.Module, site: str, input_size: tuple[int, int], in_channels: int
) -> tuple[int, int]:
    device = model_device(model)
    with preserved_state(model), torch.inference_mode():
        model.eval()
        act = run_to_site(model, site, torch.zeros(1, in_channels, *input_size, device=device))
    if act.ndim != 4:
        raise ValueError(
            f"Site {site!r} gives activations of shape {tuple(act.shape)}, with no spatial "
            "extent; receptive fields exist only for (N, C, H, W) sites."
        )
    return int(act.shape[2]), int(act.shape[3])


def chain_fields(
    field: ReceptiveField, map_size: tuple[int, int], input_size: tuple[int, int]
) -> FieldGrid:
    """The grid of a chain CNN's exact field (from ``receptive_field``) for one input size."""
    axes = []
    for axis in (0, 1):
        start = field.offset[axis] + torch.arange(map_size[axis]) * field.stride[axis]
        axes.append(torch.stack([start, start + field.size[axis]], 1))
    return FieldGrid(
        axes[0].clamp(0, input_size[0]),
        axes[1].clamp(0, input_size[1]),
        tuple(field.size),  # type: ignore[arg-type]
        tuple(input_size),  # type: ignore[arg-type]
        "chain",
        axes[0],
        axes[1],
    )


def _unclipped(spans: Tensor, nominal: int, length: int) -> Tensor:
    """Estimate unclipped spans: an affine fit on the unclipped ones, else centred."""
    n = spans.shape[0]
    inner = ((spans[:, 1] - spans[:, 0]) == nominal).nonzero().flatten()
    if inner.numel() >= 2:
        i0, i1 = int(inner[0]), int(inner[-1])
        stride = (int(spans[i1, 0]) - int(spans[i0, 0])) // max(i1 - i0, 1)
        offset = int(spans[i0, 0]) - stride * i0
        start = offset + stride * torch.arange(n)
    elif inner.numel() == 1:
        stride = max(length // n, 1)
        start = int(spans[inner[0], 0]) + stride * (torch.arange(n) - int(inner[0]))
    else:
        centre = (torch.arange(n) + 0.5) * length / n
        start = (centre - nominal / 2).round().long()
    return torch.stack([start, start + nominal], 1)


def gradient_fields(
    model: nn.Module,
    site: str,
    input_size: tuple[int, int],
    *,
    in_channels: int | None = None,
    probes: int = 2,
    batch_size: int = 16,
    seed: int = 0,
) -> FieldGrid:
    """Measure the field of every row and column of ``site`` by gradient support.

    Parameters
    ----------
    model:
        Any model; run in eval mode (mode and ``requires_grad`` restored after, hooks
        removed) on its own device.
    site:
        A site with ``(N, C, H', W')`` activations.
    input_size:
        ``(H, W)`` of the input; fields near the border depend on it.
    in_channels:
        Channels of the input (default: those of the model's first ``Conv2d``).
    probes:
        Random inputs (standard normal, from ``seed``) whose supports are united.
    batch_size:
        Backward passes per forward (each sample of the batch measures one row or column).

    Returns
    -------
    FieldGrid
        ``method="gradient"``. Cost: ``probes * (H' + W')`` samples through the model
        up to the site (the layers after it are not run).
    """
    if probes < 1:
        raise ValueError(f"probes must be at least 1, got {probes}.")
    in_channels = in_channels or input_channels(model)
    height, width = _map_size(model, site, input_size, in_channels)
    device = model_device(model)
    gen = torch.Generator().manual_seed(seed)
    tasks = [
        (axis, i) for _ in range(probes) for axis, n in ((0, height), (1, width)) for i in range(n)
    ]
    support = [
        torch.zeros(height, input_size[0], dtype=torch.bool),
        torch.zeros(width, input_size[1], dtype=torch.bool),
    ]
    with preserved_state(model):
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        for start in range(0, len(tasks), batch_size):
            chunk = tasks[start : start + batch_size]
            x = torch.randn(len(chunk), in_channels, *input_size, generator=gen).to(device)
            x.requires_grad_(True)
            with torch.enable_grad():
                act = run_to_site(model, site, x)
                weight = torch.zeros_like(act)
                for i, (axis, line) in enumerate(chunk):
                    index = (
                        (i, slice(None), line) if axis == 0 else (i, slice(None), slice(None), line)
                    )
                    weight[index] = 0.5 + torch.rand(weight[index].shape, generator=gen).to(device)
                (grad,) = torch.autograd.grad(act, x, weight)
            hit = (grad != 0).any(1).cpu()  # (B, H, W)
            for i, (axis, line) in enumerate(chunk):
                support[axis][line] |= hit[i].any(1 - axis)
    spans = []
    for axis in (0, 1):
        s = support[axis]
        if not bool(s.any(1).all()):
            empty = int((~s.any(1)).nonzero()[0, 0])
            raise ValueError(
                f"Row/column {empty} of {site!r} has zero gradient for every probe input; "
                "its field cannot be measured (a dead unit?). Try more probes."
            )
        idx = torch.arange(s.shape[1])
        top = torch.where(s, idx, s.shape[1]).amin(1)
        bottom = torch.where(s, idx, -1).amax(1) + 1
        spans.append(torch.stack([top, bottom], 1))
    nominal = tuple(int((sp[:, 1] - sp[:, 0]).max()) for sp in spans)
    full = [_unclipped(spans[a], nominal[a], input_size[a]) for a in (0, 1)]
    return FieldGrid(
        spans[0],
        spans[1],
        nominal,  # type: ignore[arg-type]
        tuple(input_size),  # type: ignore[arg-type]
        "gradient",
        full[0],
        full[1],
    )


def site_fields(
    model: nn.Module,
    site: str,
    input_size: tuple[int, int],
    *,
    method: str = "auto",
    in_channels: int | None = None,
    probes: int = 2,
    seed: int = 0,
) -> FieldGrid:
    """The receptive-field grid of ``site`` for inputs of ``input_size``.

    ``method="auto"`` uses the exact chain formula when the model is a chain CNN up to
    the site (:func:`interpret.core.receptive.chain_layers` accepts it), else gradient
    support (:func:`gradient_fields`). ``"chain"`` or ``"gradient"`` force one.

    Example
    -------
    >>> from interpret.testing import chain_cnn
    >>> grid = site_fields(chain_cnn(), "features.5", (32, 32))
    >>> grid.method, grid.map_size, grid.nominal
    ('chain', (7, 7), (13, 13))
    """
    if method not in ("auto", "chain", "gradient"):
        raise ValueError(f"method must be 'auto', 'chain' or 'gradient', not {method!r}.")
    in_channels = in_channels or input_channels(model)
    if method != "gradient":
        try:
            field = receptive_field(model, site)
        except ValueError:
            if method == "chain":
                raise
        else:
            return chain_fields(field, _map_size(model, site, input_size, in_channels), input_size)
    return gradient_fields(
        model, site, input_size, in_channels=in_channels, probes=probes, seed=seed
    )
