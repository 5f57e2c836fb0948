"""Invariance curves (Zeiler & Fergus 2013, Sec. 4.4, Fig. 5).

How far the features at chosen sites move, and how the probability of the true label
changes, as images are translated, scaled, rotated or put through any callable.

Example
-------
>>> import torch
>>> from interpret.testing import chain_cnn
>>> from interpret.invariance import invariance_curves, rotation, vertical_translation
>>> res = invariance_curves(chain_cnn(), torch.randn(2, 3, 24, 24),
...                         [vertical_translation([-4, 0, 4]), rotation([0, 90])],
...                         ["features.0", "classifier"])
>>> [c.name for c in res.curves]
['vertical translation', 'rotation']
"""

from interpret.invariance.curves import (
    NORMALIZATIONS,
    InvarianceResult,
    TransformCurves,
    invariance_curves,
)
from interpret.invariance.plot import plot_invariance
from interpret.invariance.transforms import (
    Transformation,
    custom_transform,
    horizontal_translation,
    rotation,
    scaling,
    vertical_translation,
)

__all__ = [
    "NORMALIZATIONS",
    "InvarianceResult",
    "TransformCurves",
    "Transformation",
    "custom_transform",
    "horizontal_translation",
    "invariance_curves",
    "plot_invariance",
    "rotation",
    "scaling",
    "vertical_translation",
]
