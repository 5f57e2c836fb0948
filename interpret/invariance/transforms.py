"""Transformation families for invariance curves (Zeiler & Fergus 2013, Fig. 5).

A :class:`Transformation` is a family of image transformations indexed by one scalar
parameter, together with the parameter values to sweep. Calling it on a batch of images
``(N, C, H, W)`` returns every transformed copy at once, ``(P, N, C, H, W)``, computed on
the images' device: built-in spatial families build one affine sampling grid per
parameter and call :func:`torch.nn.functional.grid_sample` once; circular shifts use
:func:`torch.roll`.

Conventions (all built-ins):

- Translations are in input pixels; a positive shift moves the content **down**
  (vertical) or **right** (horizontal), as :func:`torch.roll` does.
- Scaling zooms about the image centre; a factor ``> 1`` enlarges the content
  (and crops it), ``< 1`` shrinks it (and fills the border).
- Rotation is in degrees about the image centre; positive is **counter-clockwise** as the
  image is displayed (row 0 at the top), as :func:`torchvision.transforms.functional.rotate`.
- ``fill``: ``"zeros"`` fills uncovered pixels with 0 *in the model's input space* (mid
  grey for inputs scaled to ``[-1, 1]`` or mean-subtracted); ``"border"`` repeats the edge
  pixels; ``"reflection"`` mirrors the image about its edges; ``"circular"`` (translations
  only, integer shifts) wraps the content around, which makes a globally pooled
  circular-padded convolution exactly invariant.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "Transformation",
    "custom_transform",
    "horizontal_translation",
    "rotation",
    "scaling",
    "vertical_translation",
]

Fill = Literal["zeros", "border", "reflection", "circular"]
Interpolation = Literal["bilinear", "nearest"]
_FILLS = ("zeros", "border", "reflection", "circular")
_KINDS = ("translate_y", "translate_x", "scale", "rotate", "custom")


def _as_params(values: Tensor | Sequence[float] | range, what: str) -> Tensor:
    """Coerce a parameter range to a 1-D float64 CPU tensor, with clear errors."""
    if isinstance(values, (int, float)):
        raise TypeError(
            f"{what} must be a 1-D sequence of values (e.g. torch.linspace(...)), not a "
            f"single {type(values).__name__}; wrap it in a list."
        )
    try:
        params = torch.as_tensor(values, dtype=torch.float64).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{what} must be a 1-D sequence of numbers: {err}") from None
    if params.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {tuple(params.shape)}.")
    if params.numel() == 0:
        raise ValueError(
            f"{what} is empty: pass at least one value, e.g. torch.linspace(-60, 60, 25)."
        )
    if not bool(torch.isfinite(params).all()):
        raise ValueError(f"{what} holds NaN or infinite values.")
    return params


def _check_images(images: Tensor, spatial: bool) -> None:
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a tensor (N, C, H, W), not {type(images).__name__}.")
    if not images.is_floating_point():
        raise TypeError(f"images must be floating point, got {images.dtype}.")
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}.")
    if spatial and min(images.shape[-2:]) < 2:
        raise ValueError(
            f"A spatial transformation needs images with spatial extent (H, W >= 2), got "
            f"{tuple(images.shape[-2:])}."
        )


@dataclass(frozen=True, eq=False)
class Transformation:
    """A one-parameter family of image transformations and the values to sweep.

    Build one with :func:`vertical_translation`, :func:`horizontal_translation`,
    :func:`scaling`, :func:`rotation` or :func:`custom_transform`.

    Attributes
    ----------
    name:
        Human-readable name (``"vertical translation"``), used in figures.
    kind:
        ``"translate_y"``, ``"translate_x"``, ``"scale"``, ``"rotate"`` or ``"custom"``.
    params:
        ``(P,)`` float64: the parameter values, in ``unit``.
    unit:
        ``"pixels"``, ``"factor"``, ``"degrees"`` or what the user named.
    fill, interpolation:
        How uncovered pixels are filled and how the image is resampled (built-ins).
    fn:
        For ``kind="custom"``: ``fn(images, param) -> images`` with ``images`` of shape
        ``(N, C, H, W)`` and ``param`` a 0-d tensor on the images' device.
    """

    name: str
    kind: str
    params: Tensor
    unit: str
    fill: str = "zeros"
    interpolation: str = "bilinear"
    fn: Callable[[Tensor, Tensor], Tensor] | None = None

    @property
    def spatial(self) -> bool:
        """Whether the transformation moves pixels (needs images with spatial extent)."""
        return self.kind != "custom"

    def __call__(self, images: Tensor, params: Tensor | None = None) -> Tensor:
        """Transform ``images`` ``(N, C, H, W)`` by every parameter: ``(P, N, C, H, W)``.

        ``params`` defaults to ``self.params``; computed on ``images.device``.
        """
        _check_images(images, self.spatial)
        params = self.params if params is None else _as_params(params, "params")
        if self.kind == "custom":
            return self._custom(images, params)
        return self._resample(images, params, images.shape[-2:])

    def on_features(self, features: Tensor, params: Tensor, input_hw: Sequence[int]) -> Tensor:
        """Apply the same transformation to feature maps ``(N, C, h, w)``: ``(P, N, C, h, w)``.

        Parameters are in input units (pixels of an ``input_hw`` image), mapped to the
        feature grid by its size relative to the input (equivariance comparisons).
        """
        if not self.spatial:
            raise ValueError(
                f"The custom transformation {self.name!r} cannot be applied to feature maps; "
                "use compare='invariance'."
            )
        if features.ndim != 4 or min(features.shape[-2:]) < 2:
            raise ValueError(
                f"Equivariance needs a site with spatial extent (N, C, h, w), h, w >= 2; got "
                f"{tuple(features.shape)}. Pick a convolutional site or compare='invariance'."
            )
        return self._resample(features, _as_params(params, "params"), input_hw)

    def _custom(self, images: Tensor, params: Tensor) -> Tensor:
        assert self.fn is not None  # guaranteed by custom_transform
        out = []
        for value in params.to(images.device, images.dtype):
            moved = self.fn(images, value)
            if not isinstance(moved, Tensor) or moved.shape[0] != images.shape[0]:
                got = tuple(moved.shape) if isinstance(moved, Tensor) else type(moved).__name__
                raise ValueError(
                    f"The custom transformation {self.name!r} must return a tensor "
                    f"(N, C, H, W) with N={images.shape[0]}; got {got}."
                )
            out.append(moved)
        try:
            return torch.stack(out)
        except RuntimeError as err:
            raise ValueError(
                f"The custom transformation {self.name!r} returned different shapes for "
                f"different parameters: {err}"
            ) from None

    def _resample(self, x: Tensor, params: Tensor, input_hw: Sequence[int]) -> Tensor:
        n, c, h, w = x.shape
        if self.fill == "circular":
            return self._roll(x, params, input_hw)
        theta = _theta(self.kind, params, input_hw).to(x.device, x.dtype)  # (P, 2, 3)
        p = theta.shape[0]
        grid = F.affine_grid(theta, [p, 1, h, w], align_corners=False)  # (P, h, w, 2)
        grid = grid.repeat_interleave(n, dim=0)
        source = x.unsqueeze(0).expand(p, n, c, h, w).reshape(p * n, c, h, w)
        out = F.grid_sample(
            source, grid, mode=self.interpolation, padding_mode=self.fill, align_corners=False
        ).reshape(p, n, c, h, w)
        # the identity (shift 0, factor 1, angle 0) returns the input exactly, not resampled
        eye = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=theta.dtype)
        identity = ((theta.cpu() - eye).abs() < 1e-12).flatten(1).all(1)
        if bool(identity.any()):
            out[identity.to(out.device)] = x.unsqueeze(0)
        return out

    def _roll(self, x: Tensor, params: Tensor, input_hw: Sequence[int]) -> Tensor:
        dim = 2 if self.kind == "translate_y" else 3
        ratio = x.shape[dim] / input_hw[dim - 2]
        out = []
        for shift in params.tolist():
            moved = shift * ratio
            if abs(moved - round(moved)) > 1e-6:
                raise ValueError(
                    f"A circular shift of {shift:g} input pixels is {moved:g} cells on a grid of "
                    f"{x.shape[dim]}; circular shifts must land on whole cells (use shifts that "
                    "are multiples of the site's stride, or another fill)."
                )
            out.append(torch.roll(x, int(round(moved)), dims=dim))
        return torch.stack(out)


def _theta(kind: str, params: Tensor, input_hw: Sequence[int]) -> Tensor:
    """``(P, 2, 3)`` affine matrices mapping output to input normalized coordinates."""
    h, w = float(input_hw[0]), float(input_hw[1])
    p = params.numel()
    theta = torch.zeros(p, 2, 3, dtype=torch.float64)
    if kind in ("translate_y", "translate_x"):
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0
        if kind == "translate_y":
            theta[:, 1, 2] = -2.0 * params / h
        else:
            theta[:, 0, 2] = -2.0 * params / w
    elif kind == "scale":
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / params
    elif kind == "rotate":
        rad = params * (math.pi / 180.0)
        cos, sin = torch.cos(rad), torch.sin(rad)
        theta[:, 0, 0] = cos
        theta[:, 0, 1] = -sin * h / w
        theta[:, 1, 0] = sin * w / h
        theta[:, 1, 1] = cos
    else:  # pragma: no cover - kinds are fixed by the factories
        raise ValueError(f"Unknown transformation kind {kind!r}.")
    return theta


def _check_options(fill: str, interpolation: str, allow_circular: bool) -> None:
    fills = _FILLS if allow_circular else _FILLS[:3]
    if fill not in fills:
        raise ValueError(f"fill must be one of {', '.join(map(repr, fills))}, not {fill!r}.")
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', not {interpolation!r}.")


def _translation(
    kind: str, shifts: Tensor | Sequence[float] | range, fill: str, interpolation: str
) -> Transformation:
    _check_options(fill, interpolation, allow_circular=True)
    params = _as_params(shifts, "shifts")
    if fill == "circular" and not bool((params == params.round()).all()):
        raise ValueError("Circular shifts must be whole pixels; round the shifts.")
    name = "vertical translation" if kind == "translate_y" else "horizontal translation"
    return Transformation(name, kind, params, "pixels", fill, interpolation)


def vertical_translation(
    shifts: Tensor | Sequence[float] | range = range(-60, 61, 5),
    *,
    fill: Fill = "zeros",
    interpolation: Interpolation = "bilinear",
) -> Transformation:
    """Shift the image vertically by ``shifts`` pixels (positive: down). Z&F Fig. 5a.

    Example
    -------
    >>> import torch
    >>> t = vertical_translation([0, 1], fill="circular")
    >>> t(torch.arange(8.0).view(1, 1, 4, 2))[1, 0, 0, :, 0].tolist()
    [6.0, 0.0, 2.0, 4.0]
    """
    return _translation("translate_y", shifts, fill, interpolation)


def horizontal_translation(
    shifts: Tensor | Sequence[float] | range = range(-60, 61, 5),
    *,
    fill: Fill = "zeros",
    interpolation: Interpolation = "bilinear",
) -> Transformation:
    """Shift the image horizontally by ``shifts`` pixels (positive: right)."""
    return _translation("translate_x", shifts, fill, interpolation)


def scaling(
    factors: Tensor | Sequence[float] = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8),
    *,
    fill: Literal["zeros", "border", "reflection"] = "zeros",
    interpolation: Interpolation = "bilinear",
) -> Transformation:
    """Zoom about the image centre by ``factors`` (``> 1`` enlarges). Z&F Fig. 5b."""
    _check_options(fill, interpolation, allow_circular=False)
    params = _as_params(factors, "factors")
    if not bool((params > 0).all()):
        raise ValueError("Scale factors must be positive.")
    return Transformation("scale", "scale", params, "factor", fill, interpolation)


def rotation(
    degrees: Tensor | Sequence[float] | range = range(0, 361, 15),
    *,
    fill: Literal["zeros", "border", "reflection"] = "zeros",
    interpolation: Interpolation = "bilinear",
) -> Transformation:
    """Rotate about the image centre by ``degrees`` (counter-clockwise). Z&F Fig. 5c."""
    _check_options(fill, interpolation, allow_circular=False)
    params = _as_params(degrees, "degrees")
    return Transformation("rotation", "rotate", params, "degrees", fill, interpolation)


def custom_transform(
    fn: Callable[[Tensor, Tensor], Tensor],
    params: Tensor | Sequence[float] | range,
    *,
    name: str = "custom",
    unit: str = "",
) -> Transformation:
    """Any callable ``fn(images, param) -> images`` swept over ``params``.

    ``images`` is ``(N, C, H, W)`` on the model's device and ``param`` a 0-d tensor of
    the images' dtype; ``fn`` must return a tensor of the same batch size (its spatial
    size may differ from the input's if the model accepts it).

    Example
    -------
    >>> import torch
    >>> brighten = custom_transform(lambda x, b: x + b, [0.0, 0.5], name="brightness")
    >>> tuple(brighten(torch.zeros(2, 3, 4, 4)).shape)
    (2, 2, 3, 4, 4)
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable as fn(images, param), not {type(fn).__name__}.")
    return Transformation(name, "custom", _as_params(params, "params"), unit, "n/a", "n/a", fn)
