"""Settings and result of activation maximization (:func:`interpret.neurons.maximize`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import Tensor

from interpret.core import Result
from interpret.neurons.maximization.regularizers import Penalty, StepRegularizer
from interpret.neurons.maximization.transforms import Transform

__all__ = ["LR_GROW", "LR_SHRINK", "MaximizeConfig", "MaximizeResult"]

#: ``lr_schedule="adaptive"``: factor on an element's rate after a step that did not lower
#: its objective (a flat one, such as a dead start, included), and after one that did.
LR_GROW, LR_SHRINK = 1.2, 0.7
#: ... and the rate stays within ``[lr / LR_RANGE[0], lr * LR_RANGE[1]]``.
LR_RANGE = (16.0, 64.0)


def _pair(size: int | Sequence[int], what: str) -> tuple[int, int]:
    if not isinstance(size, (int, Sequence)) or isinstance(size, (bool, str)):
        raise TypeError(f"{what} must be an int or a (height, width) pair, not {size!r}.")
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, int) and s > 0 for s in pair):
        raise ValueError(f"{what} must be a positive int or (height, width), got {size!r}.")
    return pair  # type: ignore[return-value]


@dataclass(frozen=True)
class MaximizeConfig:
    """How to optimize: parameterization, optimizer, transforms and regularizers.

    Parameters
    ----------
    size:
        Image size ``H`` or ``(H, W)``.
    steps:
        Number of gradient steps (> 0).
    param:
        ``"fourier"`` (Lucid's scaled spectrum) or ``"pixel"``.
    decorrelate:
        Optimize in decorrelated colour (Lucid; three-channel images only).
    pixel_output:
        For ``param="pixel"``: ``"sigmoid"`` (Lucid) or ``"clip"`` (grey-centred pixels
        clipped to the valid range after each step, Yosinski; needed by step regularizers).
    init_std:
        Standard deviation of the random start (of the spectrum for ``"fourier"``).
    decay_power:
        Frequency scaling exponent of the Fourier parameterization.
    optimizer:
        ``"adam"`` (Lucid), ``"sgd"`` (``x += lr * grad``, Yosinski's constant policy) or
        ``"progress"`` (Yosinski's progress policy: element ``b`` steps by
        ``min(lr, desired_progress / |grad_b|^2) * grad_b``, so that a linear objective
        would rise by ``desired_progress``).
    lr:
        Learning rate (the cap for ``"progress"``), in units of the ``[0, 1]`` image;
        with ``lr_schedule="adaptive"`` the rate every element starts from.
    lr_schedule:
        ``"constant"``: every step uses ``lr`` (the papers). ``"adaptive"`` (the default
        preset "lucid"): each batch element has its own rate, found from the run itself
        -- after every step it is multiplied by ``LR_GROW`` (1.2) if that element's
        objective did not fall since the previous step and by ``LR_SHRINK`` (0.7) if
        it fell, within ``[lr / 16, 64 * lr]`` (a bold-driver line search that runs
        along with the optimization, at no extra cost). Adam already makes the step
        independent of the gradient's scale; what differs between models is how far the
        image must move in a given number of steps (a random-init VGG-11 needs about 4x
        Lucid's 0.05 in 32 steps, the pretrained Lite0 does not), and this finds it: the
        rate grows while steps pay off and falls back when they overshoot.
    relu_gradient:
        ``"exact"``, or ``"redirect"``: Lucid's redirected ReLU gradient for elements
        whose exact gradient through a ``nn.ReLU``/``nn.ReLU6`` module is zero, so that a
        channel that is dead on the random start can still rise (see
        :mod:`interpret.neurons.maximization.relu_redirect`).
    transform_fraction:
        The random ``transforms`` are applied in the first ``round(transform_fraction *
        steps)`` steps only; the rest optimize the untransformed image, the one that
        :attr:`MaximizeResult.final` scores. 1.0 (the papers) transforms every step.
        The transform-robust image found first sets the structure; the plain steps after
        it raise the objective on models whose units are not robust to jitter, scale and
        rotation (random-init models, whose strided convolutions alias: there the
        fully transformed objective stays near the photos' maximum in short runs).
    desired_progress:
        For ``"progress"`` only.
    transforms, penalties, step_regularizers:
        See :mod:`interpret.neurons.maximization.transforms`.
    model_size:
        Resize the transformed image to this size before the model (Lucent upsamples to
        224); ``None`` feeds it as it is.
    resample:
        ``"each"``: every transform, then the resize, resamples the image in turn, as
        Lucid does. ``"once"``: the chain and the resize are composed into one bilinear
        sample per image (:func:`~interpret.neurons.maximization.transforms.apply_transforms`): the
        same geometry and random draws, 1.3-1.4x faster batched steps on a CPU with
        the lucid preset, and sharper transformed images. In our runs (Lite0, 64 px, 48
        steps, 8 seeds) "once" raised class logits further (median 63 vs 54) but class
        log-probabilities less (-11.5 vs -4.7): the repeated interpolation of "each" is
        also a blur, a regularizer.
    name:
        A label for figures and saved results (presets set it).
    """

    size: int | tuple[int, int] = 128
    steps: int = 256
    param: Literal["fourier", "pixel"] = "fourier"
    decorrelate: bool = True
    pixel_output: Literal["sigmoid", "clip"] = "sigmoid"
    init_std: float = 0.01
    decay_power: float = 1.0
    optimizer: Literal["adam", "sgd", "progress"] = "adam"
    lr: float = 0.05
    desired_progress: float = 2.0
    transforms: tuple[Transform, ...] = ()
    penalties: tuple[Penalty, ...] = ()
    step_regularizers: tuple[StepRegularizer, ...] = ()
    model_size: int | tuple[int, int] | None = None
    resample: Literal["each", "once"] = "each"
    lr_schedule: Literal["constant", "adaptive"] = "constant"
    relu_gradient: Literal["exact", "redirect"] = "exact"
    transform_fraction: float = 1.0
    name: str = "custom"

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps <= 0:
            raise ValueError(f"steps must be a positive int, got {self.steps!r}.")
        _pair(self.size, "size")
        if self.model_size is not None:
            _pair(self.model_size, "model_size")
        if self.param not in ("fourier", "pixel"):
            raise ValueError(f"param must be 'fourier' or 'pixel', not {self.param!r}.")
        if self.resample not in ("each", "once"):
            raise ValueError(f"resample must be 'each' or 'once', not {self.resample!r}.")
        if self.pixel_output not in ("sigmoid", "clip"):
            raise ValueError(
                f"pixel_output must be 'sigmoid' or 'clip', not {self.pixel_output!r}."
            )
        if self.optimizer not in ("adam", "sgd", "progress"):
            raise ValueError(
                f"optimizer must be 'adam', 'sgd' or 'progress', not {self.optimizer!r}."
            )
        if self.lr_schedule not in ("constant", "adaptive"):
            raise ValueError(
                f"lr_schedule must be 'constant' or 'adaptive', not {self.lr_schedule!r}."
            )
        if self.relu_gradient not in ("exact", "redirect"):
            raise ValueError(
                f"relu_gradient must be 'exact' or 'redirect', not {self.relu_gradient!r}."
            )
        if not 0.0 <= self.transform_fraction <= 1.0:
            raise ValueError(
                f"transform_fraction must be in [0, 1] (the share of steps with random "
                f"transforms), got {self.transform_fraction!r}."
            )
        if not self.lr > 0 or not self.desired_progress > 0 or not self.init_std >= 0:
            raise ValueError("lr and desired_progress must be > 0 and init_std >= 0.")
        for name in ("transforms", "penalties", "step_regularizers"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.step_regularizers and not (self.param == "pixel" and self.pixel_output == "clip"):
            raise ValueError(
                "Step regularizers (decay, blur, clipping) change pixels directly; use "
                "param='pixel' with pixel_output='clip' (as the 'deepvis' preset does)."
            )

    @property
    def image_size(self) -> tuple[int, int]:
        return _pair(self.size, "size")

    def replace(self, **changes: Any) -> MaximizeConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """The settings as plain values (for results and reports)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("transforms", "penalties", "step_regularizers"):
                value = [item.description for item in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


@dataclass(frozen=True)
class MaximizeResult(Result):
    """Images that maximize an objective, one per batch element.

    Attributes
    ----------
    images:
        ``(B, C, H, W)`` in ``[0, 1]`` (before the model's normalisation).
    curve:
        ``(steps, B)``: the objective at each step, on that step's transformed image.
    final:
        ``(B,)``: the objective on the final images, without random transforms.
    raw:
        The optimized parameters (pixels, or the spectrum ``(B, C, H, W//2+1, 2)``).
    labels:
        One short label per element (``"features.10 ch 3"``, ``"class 417"``).
    description:
        The objective, readable.
    sites:
        The sites the objective read.
    seeds:
        The generator seed of each element.
    settings:
        The :class:`MaximizeConfig` as plain values, plus ``mean``/``std``.
    """

    images: Tensor
    curve: Tensor
    final: Tensor
    raw: Tensor
    labels: list[str]
    description: str
    sites: tuple[str, ...]
    seeds: list[int]
    settings: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])
