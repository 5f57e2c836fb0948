"""Named settings for activation maximization: the two schools and a plain baseline.

- ``"deepvis"``: Yosinski et al., "Understanding Neural Networks Through Deep
  Visualization" (ICML DL workshop 2015), Table 1, third row -- the settings behind most
  of the paper's images: L2 decay 0.0001, Gaussian blur of 1 pixel every 4 steps,
  constant learning rate 100 (0.05 here, see below), 1000 steps, plain gradient ascent
  on pixels clipped to the valid range, start at grey plus N(0, 10) noise (of 255).
  ``"deepvis-1"`` ..
  ``"deepvis-4"`` are the four rows of Table 1, with the optimizer settings of the
  toolbox's ``doc/running-optimize-image.md``.
- ``"lucid"``: Olah et al., "Feature Visualization" (Distill 2017) / Lucid and Lucent:
  Fourier parameterization with decorrelated colour and a sigmoid, Adam at 0.05, 512
  steps, Lucid's ``standard_transforms`` (pad 12, jitter 8, scale 0.9..1.1, rotate
  -10..10 degrees, jitter 4).
  That is ``preset("lucid", literal=True)``. Plain ``"lucid"`` -- the default of
  :func:`~interpret.neurons.maximize` and of the report -- keeps Lucid's
  parameterization and transforms but adapts to the model (``ADAPTIVE``): each
  element's Adam rate adapts to whether its objective rises (``lr_schedule="adaptive"``,
  starting at 0.05), dead ReLU starts get Lucid's redirected gradient
  (``relu_gradient="redirect"``, which Lucid's ``render_vis`` also uses), and the random
  transforms stop after the first half of the steps (``transform_fraction=0.5``). Tuned
  literally for ImageNet models at 128 px and 512 steps, the paper settings at the
  report's 96 px / 32 steps raised random-init VGG-11, ResNet-18 and the digits ZFNet's
  channels to only 0.5-2x their maximum over real images (some not above noise); the
  adaptive ones reach more than 3x on those and on Lite0
  (``bench/maximize_transfer.py``).
- ``"plain"``: unregularized Adam on sigmoid pixels -- the baseline that gives
  adversarial-looking noise.

Learning rates are stated for the ``[0, 1]`` image. The toolbox's rates were tuned for
CaffeNet on 0..255 inputs; the literal conversion of its rate 100 (``100 / 255**2``)
leaves the images of a modern normalized network nearly grey (checked on
EfficientNet-Lite0: logits rise but the contrast stays tiny), so every rate is scaled by
the same factor, rate 100 -> 0.05, which gives images of the paper's contrast. The
``"progress"`` policy (rows 1 and 4) caps its rate the same way.
"""

from __future__ import annotations

from typing import Any

from interpret.neurons.maximization.config import MaximizeConfig
from interpret.neurons.maximization.regularizers import (
    ClipSmallContribution,
    ClipSmallNorm,
    GaussianBlur,
    L2Decay,
)
from interpret.neurons.maximization.transforms import lucid_transforms

__all__ = ["ADAPTIVE", "PRESETS", "preset"]

_PIXEL = 1.0 / 255.0
_RATE = 0.05 / 100.0  # the toolbox's learning rate 100 (0..255 CaffeNet inputs) -> 0.05


def _deepvis(
    row: int,
    decay: float,
    blur: float,
    norm_pct: float,
    contrib_pct: float,
    steps: int,
    optimizer: str,
    lr: float,
) -> MaximizeConfig:
    regs: list[Any] = []
    if decay:
        regs.append(L2Decay(decay))
    if blur:
        regs.append(GaussianBlur(blur, every=4))
    if norm_pct:
        regs.append(ClipSmallNorm(norm_pct))
    if contrib_pct:
        regs.append(ClipSmallContribution(contrib_pct))
    return MaximizeConfig(
        size=227,
        steps=steps,
        param="pixel",
        decorrelate=False,
        pixel_output="clip",
        init_std=10.0 * _PIXEL,
        optimizer=optimizer,  # type: ignore[arg-type]
        lr=lr,
        desired_progress=2.0,
        step_regularizers=tuple(regs),
        name=f"deepvis-{row}",
    )


def _builders() -> dict[str, Any]:
    return {
        "deepvis-1": lambda: _deepvis(1, 0.0, 0.5, 50, 0, 500, "progress", 100 * _RATE),
        "deepvis-2": lambda: _deepvis(2, 0.3, 0.0, 20, 0, 750, "sgd", 100 * _RATE),
        "deepvis-3": lambda: _deepvis(3, 1e-4, 1.0, 0, 0, 1000, "sgd", 100 * _RATE),
        "deepvis-4": lambda: _deepvis(4, 0.0, 0.5, 0, 90, 1000, "progress", 1e8 * _RATE),
        "deepvis": lambda: _deepvis(3, 1e-4, 1.0, 0, 0, 1000, "sgd", 100 * _RATE).replace(
            name="deepvis"
        ),
        "lucid": lambda: MaximizeConfig(
            size=128,
            steps=512,
            param="fourier",
            decorrelate=True,
            optimizer="adam",
            lr=0.05,
            transforms=lucid_transforms(),
            name="lucid",
        ),
        "plain": lambda: MaximizeConfig(
            size=128,
            steps=256,
            param="pixel",
            decorrelate=False,
            pixel_output="sigmoid",
            optimizer="adam",
            lr=0.05,
            name="plain",
        ),
    }


#: Preset names and what they are.
PRESETS: dict[str, str] = {
    "deepvis": "Yosinski et al. 2015, Table 1 row 3: decay 1e-4, blur 1px every 4 steps",
    "deepvis-1": "Table 1 row 1: blur 0.5px every 4, clip 50% smallest-norm pixels",
    "deepvis-2": "Table 1 row 2: decay 0.3, clip 20% smallest-norm pixels",
    "deepvis-3": "Table 1 row 3 (same as 'deepvis')",
    "deepvis-4": "Table 1 row 4: blur 0.5px every 4, clip 90% smallest-contribution pixels",
    "lucid": "Olah et al. 2017: Fourier + decorrelated colour + jitter/scale/rotate, Adam; "
    "adapted to any model (literal=True for the paper's settings)",
    "plain": "No regularization: Adam on sigmoid pixels (adversarial-looking baseline)",
}


#: What the default ("lucid") preset adds to the paper's settings so that it works on any
#: model (see the module docstring); ``preset("lucid", literal=True)`` leaves it out.
ADAPTIVE: dict[str, Any] = {
    "lr_schedule": "adaptive",
    "relu_gradient": "redirect",
    "transform_fraction": 0.5,
}


def preset(name: str, *, literal: bool = False, **overrides: Any) -> MaximizeConfig:
    """The :class:`MaximizeConfig` called ``name``, with ``overrides`` applied.

    ``literal=True`` gives the paper's settings as written (for ``"lucid"``: Adam at a
    constant 0.05, exact ReLU gradients, transforms at every step); the other presets
    are literal already. Overrides apply on top of either.

    Example
    -------
    >>> cfg = preset("lucid", size=96, steps=64)
    >>> cfg.param, cfg.size, cfg.steps, len(cfg.transforms)
    ('fourier', 96, 64, 5)
    """
    builders = _builders()
    if name not in builders:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    config = builders[name]()
    if name == "lucid" and not literal:
        config = config.replace(**ADAPTIVE)
    return config.replace(**overrides) if overrides else config
