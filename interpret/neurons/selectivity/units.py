"""What a *neuron* is at a site: a channel pooled over space, or one unit of a vector.

DeepID2+ (Sun, Wang & Tang, 2015) studies the units of a fully connected layer; for a
convolutional site each channel (feature map) is one neuron, its response to an image
reduced over the spatial positions.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from interpret.core.validate import check_real

__all__ = ["Reduction", "REDUCTIONS", "neuron_values"]

Reduction = Literal["mean", "max", "sum", "flatten"]
REDUCTIONS: tuple[str, ...] = ("mean", "max", "sum", "flatten")


def check_reduction(reduction: str | None) -> None:
    """Raise ``ValueError`` unless ``reduction`` is ``None`` or one of :data:`REDUCTIONS`."""
    if reduction is not None and reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be None or one of {REDUCTIONS}, not {reduction!r}.")


def neuron_values(
    activation: Tensor, reduction: str | None = None, channel_dim: int = 1, site: str = "site"
) -> Tensor:
    """One value per (image, neuron): ``(N, D)``.

    Parameters
    ----------
    activation:
        A site's output: ``(N, D)`` (fully connected: every unit is a neuron) or
        ``(N, C, *spatial)`` with the channel axis at ``channel_dim``.
    reduction:
        For maps: ``"mean"``, ``"max"`` or ``"sum"`` over the spatial positions
        (``D = C``), or ``"flatten"`` (every ``(c, y, x)`` is a neuron, ``D = C*H*W``,
        in ``flatten`` order). ``None`` means ``"mean"`` for maps and nothing for vectors.
        Asking for a spatial reduction at a site that gives ``(N, D)`` vectors is an error
        (there is no spatial axis to pool).
    channel_dim:
        Axis of the channels (1 for PyTorch's NCHW; -1 or 3 for NHWC outputs).
    site:
        The site's name, for error messages.

    Returns
    -------
    Tensor
        ``(N, D)`` in the activation's dtype (integers and booleans as float32) and device.
    """
    check_reduction(reduction)
    if not isinstance(activation, Tensor):
        raise TypeError(f"Site {site!r} gives a {type(activation).__name__}, not a tensor.")
    check_real(activation, f"The activation of site {site!r}")
    if not activation.is_floating_point():
        activation = activation.float()
    if activation.ndim < 2:
        raise ValueError(
            f"Site {site!r} gives activations of shape {tuple(activation.shape)}: there is no "
            "channel axis (need (N, D) or (N, C, H, W)); choose a site inside the network."
        )
    dim = channel_dim if channel_dim >= 0 else activation.ndim + channel_dim
    if not 1 <= dim < activation.ndim:
        raise ValueError(
            f"channel_dim={channel_dim} does not name a channel axis of site {site!r}'s "
            f"output of shape {tuple(activation.shape)} (axis 0 is the batch)."
        )
    if dim != 1:
        activation = activation.movedim(dim, 1)
    if activation.ndim == 2:
        if reduction not in (None, "flatten"):
            raise ValueError(
                f"Site {site!r} gives vectors of shape {tuple(activation.shape)} without "
                f"spatial axes, so reduction={reduction!r} has nothing to pool; pass "
                "reduction=None (each unit is a neuron) or choose a convolutional site."
            )
        return activation
    if reduction == "flatten":
        return activation.flatten(1)
    spatial = tuple(range(2, activation.ndim))
    if reduction in (None, "mean"):
        return activation.mean(spatial)
    if reduction == "sum":
        return activation.sum(spatial)
    return activation.amax(spatial)
