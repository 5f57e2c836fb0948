"""Image parameterizations for activation maximization: what the optimizer changes.

Every parameterization holds one leaf tensor :attr:`raw` (the thing optimized, batch
first) and maps it to images in ``[0, 1]`` of shape ``(B, C, H, W)`` (``C = 3``, RGB, unless the
model takes another number of channels);
:func:`interpret.neurons.maximize` then applies the robustness transforms and the
model's own normalisation ``(image - mean) / std``.

- :class:`PixelImage`: one value per pixel. ``output="clip"`` keeps the raw values as
  pixels centred on grey (``image = raw + 0.5``, clipped to ``[0, 1]`` after every step,
  as Yosinski et al. 2015 clip to the valid pixel range); ``output="sigmoid"`` maps them
  through a sigmoid (Lucid's ``pixel_image``).
- :class:`FourierImage`: Lucid's scaled spectrum (Olah et al., "Feature Visualization",
  Distill 2017): the real and imaginary parts of a 2-D real FFT, each frequency scaled by
  ``1 / max(f, 1 / max(H, W)) ** decay_power`` so that every frequency learns at a
  comparable rate, inverse FFT (``norm="ortho"``), divided by Lucid's constant 4.

With ``decorrelate=True`` (and three channels) the channels are first mixed by the square root of
ImageNet's colour covariance (Lucid's ``color_correlation_svd_sqrt``, normalised by its
largest column norm), so that the optimizer works in decorrelated colour.

Initial values come from one ``torch.Generator`` per batch element, so element ``b`` of
a batch starts exactly where a single run with the same generator starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

__all__ = [
    "COLOR_CORRELATION_SVD_SQRT",
    "FourierImage",
    "PixelImage",
    "decorrelate_colors",
    "fourier_frequencies",
]

#: Square root of ImageNet's colour correlation (Lucid), rows R, G, B.
COLOR_CORRELATION_SVD_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float64
)


def decorrelate_colors(images: Tensor) -> Tensor:
    """Map decorrelated colour to RGB: ``out[b, :, y, x] = M @ in[b, :, y, x]`` with
    ``M = COLOR_CORRELATION_SVD_SQRT / max column norm``. Shape ``(B, 3, H, W)``."""
    if images.shape[1] != 3:
        raise ValueError(f"Colour decorrelation needs 3 channels, got {images.shape[1]}.")
    matrix = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()
    matrix = matrix.to(device=images.device, dtype=images.dtype)
    return torch.einsum("ij,bjhw->bihw", matrix, images)


def fourier_frequencies(height: int, width: int) -> Tensor:
    """Spatial frequency magnitude ``sqrt(fy^2 + fx^2)`` of each ``rfft2`` coefficient,
    shape ``(H, W // 2 + 1)``, in cycles per pixel."""
    fy = torch.fft.fftfreq(height, dtype=torch.float64)[:, None]
    fx = torch.fft.rfftfreq(width, dtype=torch.float64)[None, :]
    return (fx * fx + fy * fy).sqrt()


def _draw(generators: Sequence[torch.Generator], shape: tuple[int, ...], std: float) -> Tensor:
    """One normal draw of ``shape`` per generator, stacked: ``(len(generators), *shape)``."""
    return torch.stack([torch.randn(shape, generator=g) * std for g in generators])


class PixelImage:
    """Pixels as parameters.

    Parameters
    ----------
    generators:
        One generator per batch element (initial values ``N(0, std^2)``).
    size:
        ``(H, W)``.
    std:
        Standard deviation of the initial values (Yosinski et al.: 10 of 255; Lucid 0.01).
    output:
        ``"clip"``: image ``= raw + 0.5`` and :meth:`project` clips it to ``[0, 1]``;
        ``"sigmoid"``: image ``= sigmoid(raw)`` (after colour decorrelation if asked).
    decorrelate:
        Mix colours with :func:`decorrelate_colors` first (``output="sigmoid"`` only).
    """

    kind = "pixel"

    def __init__(
        self,
        generators: Sequence[torch.Generator],
        size: tuple[int, int],
        *,
        std: float = 0.01,
        output: Literal["clip", "sigmoid"] = "sigmoid",
        decorrelate: bool = False,
        channels: int = 3,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        decorrelate = decorrelate and channels == 3
        if output not in ("clip", "sigmoid"):
            raise ValueError(f"output must be 'clip' or 'sigmoid', not {output!r}.")
        if output == "clip" and decorrelate:
            raise ValueError(
                "Clipped pixels live in RGB; use output='sigmoid' with decorrelate=True."
            )
        self.output = output
        self.decorrelate = decorrelate
        self.size = size
        raw = _draw(generators, (channels, *size), std)
        self.raw = raw.to(device=device, dtype=dtype).requires_grad_(True)
        self.project()

    @property
    def clipped(self) -> bool:
        """Whether :attr:`raw` is itself the (grey-centred) image, Yosinski style."""
        return self.output == "clip"

    def images(self, rows: slice = slice(None)) -> Tensor:
        """Images in ``[0, 1]``, ``(B, C, H, W)`` (those of ``rows``), differentiable in
        :attr:`raw`."""
        raw = self.raw[rows]
        x = decorrelate_colors(raw) if self.decorrelate else raw
        return torch.sigmoid(x) if self.output == "sigmoid" else x + 0.5

    @torch.no_grad()
    def project(self) -> None:
        """Clip the raw pixels to the valid range (``output="clip"`` only)."""
        if self.output == "clip":
            self.raw.clamp_(-0.5, 0.5)


class FourierImage:
    """Lucid's Fourier parameterization: a scaled spectrum per image and channel.

    Parameters
    ----------
    generators:
        One generator per batch element; the spectrum starts at ``N(0, std^2)``.
    size:
        ``(H, W)``.
    std:
        Standard deviation of the initial spectrum (Lucid: 0.01).
    decay_power:
        Frequency ``f`` is scaled by ``1 / max(f, 1 / max(H, W)) ** decay_power``.
    decorrelate:
        Mix colours with :func:`decorrelate_colors` before the sigmoid.

    :attr:`raw` has shape ``(B, 3, H, W // 2 + 1, 2)`` (real, imaginary).
    """

    kind = "fourier"
    clipped = False

    def __init__(
        self,
        generators: Sequence[torch.Generator],
        size: tuple[int, int],
        *,
        std: float = 0.01,
        decay_power: float = 1.0,
        decorrelate: bool = True,
        channels: int = 3,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        h, w = size
        self.size = size
        self.decorrelate = decorrelate and channels == 3
        freqs = fourier_frequencies(h, w)
        scale = 1.0 / freqs.clamp_min(1.0 / max(h, w)) ** decay_power
        self.scale = scale[None, None, :, :, None].to(device=device, dtype=dtype)
        raw = _draw(generators, (channels, h, w // 2 + 1, 2), std)
        self.raw = raw.to(device=device, dtype=dtype).requires_grad_(True)

    def images(self, rows: slice = slice(None)) -> Tensor:
        """Images in ``[0, 1]``, ``(B, C, H, W)`` (those of ``rows``), differentiable in
        :attr:`raw`."""
        spectrum = torch.view_as_complex((self.scale * self.raw[rows]).contiguous())
        x = torch.fft.irfft2(spectrum, s=self.size, norm="ortho") / 4.0
        if self.decorrelate:
            x = decorrelate_colors(x)
        return torch.sigmoid(x)

    def project(self) -> None:
        """Nothing to clip: the sigmoid keeps images in range."""


def parameterize(
    kind: str,
    generators: Sequence[torch.Generator],
    size: tuple[int, int],
    *,
    std: float,
    decorrelate: bool,
    pixel_output: Literal["clip", "sigmoid"] = "sigmoid",
    decay_power: float = 1.0,
    channels: int = 3,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> PixelImage | FourierImage:
    """Build the parameterization named ``kind`` (``"pixel"`` or ``"fourier"``)."""
    if kind == "pixel":
        return PixelImage(
            generators,
            size,
            std=std,
            output=pixel_output,
            decorrelate=decorrelate,
            channels=channels,
            dtype=dtype,
            device=device,
        )
    if kind == "fourier":
        return FourierImage(
            generators,
            size,
            std=std,
            decay_power=decay_power,
            decorrelate=decorrelate,
            channels=channels,
            dtype=dtype,
            device=device,
        )
    raise ValueError(f"Unknown parameterization {kind!r}; use 'pixel' or 'fourier'.")
