"""Activation maximization: images that raise an objective, many units at once.

Erhan et al. (2009), Simonyan et al. (2014), Yosinski et al. (2015) and Lucid (Olah et
al., 2017). The room, one module per part:

* :mod:`~interpret.neurons.maximization.run` -- :func:`maximize` (the optimization loop),
  :func:`evaluate_objective`, :func:`count_channels`;
* :mod:`~interpret.neurons.maximization.config` -- :class:`MaximizeConfig` (how to
  optimize) and :class:`MaximizeResult` (what comes back);
* :mod:`~interpret.neurons.maximization.objective_base` and
  :mod:`~interpret.neurons.maximization.objectives` -- what to raise (``channel``,
  ``neuron``, ``class_logit``, ...), objectives that add and scale;
* :mod:`~interpret.neurons.maximization.parameterization`,
  :mod:`~interpret.neurons.maximization.transforms`,
  :mod:`~interpret.neurons.maximization.regularizers`,
  :mod:`~interpret.neurons.maximization.relu_redirect` -- the image, its robustness
  transforms, penalties and step regularizers, Lucid's ReLU gradient redirection;
* :mod:`~interpret.neurons.maximization.presets` -- named settings (``"lucid"``,
  ``"deepvis"``, ...);
* :mod:`~interpret.neurons.maximization.plot` -- figures from a :class:`MaximizeResult`.

The public names are re-exported here and from :mod:`interpret.neurons`.
"""

from interpret.neurons.maximization.config import MaximizeConfig, MaximizeResult
from interpret.neurons.maximization.objectives import (
    Objective,
    batch_of,
    channel,
    class_logit,
    class_probability,
    direction,
    diversity,
    neuron,
)
from interpret.neurons.maximization.parameterization import (
    COLOR_CORRELATION_SVD_SQRT,
    FourierImage,
    PixelImage,
    decorrelate_colors,
    fourier_frequencies,
)
from interpret.neurons.maximization.plot import plot_maximize_curve, plot_maximize_grid
from interpret.neurons.maximization.presets import PRESETS, preset
from interpret.neurons.maximization.regularizers import (
    ClipSmallContribution,
    ClipSmallNorm,
    GaussianBlur,
    L2Decay,
    L2Penalty,
    Penalty,
    StepRegularizer,
    TotalVariation,
    gaussian_blur,
)
from interpret.neurons.maximization.run import count_channels, evaluate_objective, maximize
from interpret.neurons.maximization.transforms import (
    Jitter,
    Pad,
    RandomRotate,
    RandomScale,
    Resize,
    Transform,
    apply_transforms,
    lucid_transforms,
)

__all__ = [
    "COLOR_CORRELATION_SVD_SQRT",
    "ClipSmallContribution",
    "ClipSmallNorm",
    "FourierImage",
    "GaussianBlur",
    "Jitter",
    "L2Decay",
    "L2Penalty",
    "MaximizeConfig",
    "MaximizeResult",
    "Objective",
    "PRESETS",
    "Pad",
    "Penalty",
    "PixelImage",
    "RandomRotate",
    "RandomScale",
    "Resize",
    "StepRegularizer",
    "TotalVariation",
    "Transform",
    "apply_transforms",
    "batch_of",
    "channel",
    "class_logit",
    "class_probability",
    "count_channels",
    "decorrelate_colors",
    "direction",
    "diversity",
    "evaluate_objective",
    "fourier_frequencies",
    "gaussian_blur",
    "lucid_transforms",
    "maximize",
    "neuron",
    "plot_maximize_curve",
    "plot_maximize_grid",
    "preset",
]
