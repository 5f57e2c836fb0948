"""Robustness transforms for activation maximization (Lucid's school).

Olah et al., "Feature Visualization", Distill 2017: random, differentiable changes of
the image before the model, so that the optimized image must work under all of them.
``transform(images, generators) -> images`` on ``(B, C, H, W)`` in ``[0, 1]``; element
``b`` draws its randomness from ``generators[b]`` only, so a batched run equals separate
single runs with the same generators. :class:`Pad`, :class:`Jitter`,
:class:`RandomScale`, :class:`RandomRotate`, :class:`Resize`; :func:`lucid_transforms`
is Lucid's ``standard_transforms``. Penalties and Yosinski's step regularizers are in
:mod:`interpret.neurons.maximization.regularizers`.

Every one of them is an affine map of pixel coordinates, so :func:`apply_transforms`
can compose a chain (and the final resize to the model's input) into one bilinear sample
of the original image per element, instead of one resampling per transform: the same
random draws and geometry, one interpolation instead of several, and on a CPU most of the
transforms' cost saved (``MaximizeConfig(resample="once")``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "Jitter",
    "Pad",
    "RandomRotate",
    "RandomScale",
    "Resize",
    "Transform",
    "apply_transforms",
    "lucid_transforms",
]

Generators = Sequence[torch.Generator]
Size = tuple[int, int]


class Transform(Protocol):
    @property
    def description(self) -> str: ...

    def __call__(self, images: Tensor, generators: Generators) -> Tensor: ...


class _PixelMapped(Protocol):
    def pixel_map(self, size: Size, generators: Generators) -> tuple[Tensor, Size]: ...


def _pick(generator: torch.Generator, n: int) -> int:
    """A uniform index in ``0..n-1`` from ``generator``."""
    return int(torch.randint(n, (1,), generator=generator).item())


def _check_generators(images: Tensor, generators: Generators) -> None:
    if len(generators) != images.shape[0]:
        raise ValueError(
            f"{len(generators)} generators for a batch of {images.shape[0]}; give one per element."
        )


def _shifts(b: int, dy: Tensor | float, dx: Tensor | float) -> Tensor:
    """``(B, 3, 3)`` maps ``(x, y, 1) -> (x + dx, y + dy, 1)`` (output to input pixels)."""
    m = torch.eye(3, dtype=torch.float64).repeat(b, 1, 1)
    m[:, 0, 2], m[:, 1, 2] = dx, dy
    return m


def _about_centre(linear: Tensor, size: Size) -> Tensor:
    """``(B, 3, 3)``: ``x -> c + linear (x - c)`` with ``c`` the centre pixel, as
    ``affine_grid`` with ``align_corners=False`` maps about the image centre."""
    h, w = size
    c = torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=torch.float64)
    m = torch.eye(3, dtype=torch.float64).repeat(linear.shape[0], 1, 1)
    m[:, :2, :2] = linear
    m[:, :2, 2] = c - linear @ c
    return m


def _sample(images: Tensor, mapping: Tensor, size: Size, fill: float | None = None) -> Tensor:
    """Bilinear sample of ``images`` on a ``size`` grid whose pixel ``(x, y)`` reads input
    pixel ``mapping[b] @ (x, y, 1)``; outside the input, ``fill``, or the edge pixels
    repeated when ``fill`` is None."""
    b, _, h, w = images.shape
    oh, ow = size
    ys, xs = torch.meshgrid(
        torch.arange(oh, dtype=torch.float64), torch.arange(ow, dtype=torch.float64), indexing="ij"
    )
    pixels = torch.stack([xs, ys, torch.ones_like(xs)], -1).view(-1, 3)  # (HW, 3)
    source = (pixels @ mapping[:, :2, :].transpose(1, 2)).view(b, oh, ow, 2)
    scale = torch.tensor([w, h], dtype=torch.float64)
    grid = ((2 * source + 1) / scale - 1).to(images.device, images.dtype)
    if fill is None:
        return F.grid_sample(images, grid, "bilinear", "border", align_corners=False)
    shifted = F.grid_sample(images - fill, grid, "bilinear", "zeros", align_corners=False)
    return shifted + fill


# ---- transforms ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pad:
    """Pad every side by ``width`` pixels (``mode`` as :func:`torch.nn.functional.pad`)."""

    width: int
    value: float = 0.5
    mode: Literal["constant", "reflect", "replicate"] = "constant"

    def __post_init__(self) -> None:
        if self.width < 0:
            raise ValueError(f"Pad width must be >= 0, got {self.width}.")

    @property
    def description(self) -> str:
        return f"pad({self.width}, {self.mode}" + (
            f" {self.value:g})" if self.mode == "constant" else ")"
        )

    def __call__(self, images: Tensor, generators: Generators) -> Tensor:
        w = self.width
        if self.mode == "constant":
            return F.pad(images, (w, w, w, w), mode="constant", value=self.value)
        return F.pad(images, (w, w, w, w), mode=self.mode)

    def pixel_map(self, size: Size, generators: Generators) -> tuple[Tensor, Size]:
        """Output-to-input pixel map ``(B, 3, 3)`` and the output size."""
        w = self.width
        return _shifts(len(generators), -w, -w), (size[0] + 2 * w, size[1] + 2 * w)


@dataclass(frozen=True)
class Jitter:
    """Random crop: shift by ``(dy, dx)`` uniform in ``0..pixels`` and keep ``H - pixels``
    by ``W - pixels`` (Lucid's ``jitter``; the image shrinks by ``pixels``)."""

    pixels: int

    def __post_init__(self) -> None:
        if self.pixels < 1:
            raise ValueError(f"Jitter needs pixels >= 1, got {self.pixels}.")

    @property
    def description(self) -> str:
        return f"jitter({self.pixels})"

    def __call__(self, images: Tensor, generators: Generators) -> Tensor:
        _check_generators(images, generators)
        d = self.pixels
        b, c, h, w = images.shape
        if d >= min(h, w):
            raise ValueError(f"Jitter({d}) does not fit a {h}x{w} image; use fewer pixels.")
        offsets = torch.tensor([[_pick(g, d + 1), _pick(g, d + 1)] for g in generators])
        offsets = offsets.to(images.device)
        rows = offsets[:, 0, None] + torch.arange(h - d, device=images.device)  # (B, h-d)
        cols = offsets[:, 1, None] + torch.arange(w - d, device=images.device)  # (B, w-d)
        batch = torch.arange(b, device=images.device)[:, None, None]
        out = images.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
        return out.permute(0, 3, 1, 2)

    def pixel_map(self, size: Size, generators: Generators) -> tuple[Tensor, Size]:
        d = self.pixels
        if d >= min(size):
            raise ValueError(f"Jitter({d}) does not fit a {size[0]}x{size[1]} image.")
        offsets = torch.tensor([[_pick(g, d + 1), _pick(g, d + 1)] for g in generators])
        m = _shifts(len(generators), offsets[:, 0].double(), offsets[:, 1].double())
        return m, (size[0] - d, size[1] - d)


@dataclass(frozen=True)
class RandomScale:
    """Zoom about the centre by a factor drawn from ``scales``; the size stays the same
    (bilinear, edge pixels repeated outside). Lucid resizes instead, which cannot be
    batched when elements draw different factors."""

    scales: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.scales or any(s <= 0 for s in self.scales):
            raise ValueError(f"scales must be positive numbers, got {self.scales}.")

    @property
    def description(self) -> str:
        return f"random_scale({min(self.scales):g}..{max(self.scales):g})"

    def __call__(self, images: Tensor, generators: Generators) -> Tensor:
        _check_generators(images, generators)
        return _sample(images, *self.pixel_map((images.shape[-2], images.shape[-1]), generators))

    def pixel_map(self, size: Size, generators: Generators) -> tuple[Tensor, Size]:
        inverse = torch.tensor(
            [1.0 / self.scales[_pick(g, len(self.scales))] for g in generators],
            dtype=torch.float64,
        )
        linear = torch.diag_embed(inverse[:, None].expand(-1, 2))
        return _about_centre(linear, size), size


@dataclass(frozen=True)
class RandomRotate:
    """Rotate about the centre by an angle in degrees drawn from ``degrees`` (same size,
    bilinear, edge pixels repeated outside)."""

    degrees: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.degrees:
            raise ValueError("degrees must list at least one angle.")

    @property
    def description(self) -> str:
        return f"random_rotate({min(self.degrees):g}..{max(self.degrees):g} deg)"

    def __call__(self, images: Tensor, generators: Generators) -> Tensor:
        _check_generators(images, generators)
        return _sample(images, *self.pixel_map((images.shape[-2], images.shape[-1]), generators))

    def pixel_map(self, size: Size, generators: Generators) -> tuple[Tensor, Size]:
        angles = torch.tensor(
            [math.radians(self.degrees[_pick(g, len(self.degrees))]) for g in generators],
            dtype=torch.float64,
        )
        cos, sin = angles.cos(), angles.sin()
        linear = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
        return _about_centre(linear, size), size


@dataclass(frozen=True)
class Resize:
    """Resize to ``size`` (bilinear), e.g. to the input size the model was trained on."""

    size: tuple[int, int]

    @property
    def description(self) -> str:
        return f"resize({self.size[0]}x{self.size[1]})"

    def __call__(self, images: Tensor, generators: Generators = ()) -> Tensor:
        if tuple(images.shape[2:]) == tuple(self.size):
            return images
        return F.interpolate(images, size=self.size, mode="bilinear", align_corners=False)

    def pixel_map(self, size: Size, generators: Generators) -> tuple[Tensor, Size]:
        """Bilinear resizing samples output pixel ``x`` at ``(x + 0.5) * in / out - 0.5``."""
        sy, sx = size[0] / self.size[0], size[1] / self.size[1]
        m = torch.tensor(
            [[sx, 0.0, (sx - 1) / 2], [0.0, sy, (sy - 1) / 2], [0.0, 0.0, 1.0]],
            dtype=torch.float64,
        )
        return m.repeat(len(generators), 1, 1), (self.size[0], self.size[1])


def _composable(transforms: Sequence[Transform]) -> bool:
    """One sample can replace the chain: every transform is one of ours (each has a
    ``pixel_map``), and a :class:`Pad`, if any, is constant and first (so that everything
    outside the image reads its value)."""
    kinds = (Pad, Jitter, RandomScale, RandomRotate, Resize)
    if not all(type(t) in kinds for t in transforms):
        return False
    pads = [i for i, t in enumerate(transforms) if isinstance(t, Pad)]
    return pads in ([], [0]) and all(t.mode == "constant" for t in transforms if isinstance(t, Pad))


def apply_transforms(
    images: Tensor,
    transforms: Sequence[Transform],
    generators: Generators,
    size: tuple[int, int] | None = None,
    *,
    once: bool = True,
) -> Tensor:
    """``transforms`` in order, then a resize to ``size``; with ``once``, as one bilinear
    sample.

    Element ``b`` draws from ``generators[b]`` exactly what the transforms one by one
    would draw. The geometry is the same; the image is interpolated once instead of once
    per scale, rotation and resize, so it is a little sharper than the chain's. Outside
    the image, a leading constant :class:`Pad` gives its value; without one, the edge
    pixels repeat (as :class:`RandomScale` and :class:`RandomRotate` alone). Chains that
    do not compose (other transforms, a reflecting pad), and ``once=False``, run one
    transform at a time.
    """
    chain: list[Transform] = [*transforms, *([Resize((size[0], size[1]))] if size else [])]
    if not chain:
        return images
    if not (once and _composable(chain)):
        for transform in chain:
            images = transform(images, generators)
        return images
    _check_generators(images, generators)
    current: Size = (images.shape[2], images.shape[3])
    total = torch.eye(3, dtype=torch.float64).repeat(images.shape[0], 1, 1)
    for mapped in cast("list[_PixelMapped]", chain):  # all ours (_composable)
        step, current = mapped.pixel_map(current, generators)
        total = total @ step
    fill = chain[0].value if isinstance(chain[0], Pad) else None
    return _sample(images, total, current, fill)


def lucid_transforms() -> tuple[Transform, ...]:
    """Lucid's ``standard_transforms``: pad 12 (grey), jitter 8, scale 0.9..1.1, rotate
    -10..10 degrees (zero five times as likely), jitter 4."""
    return (
        Pad(12, 0.5),
        Jitter(8),
        RandomScale(tuple(1 + (i - 5) / 50 for i in range(11))),
        RandomRotate(tuple(float(a) for a in range(-10, 11)) + (0.0,) * 5),
        Jitter(4),
    )
