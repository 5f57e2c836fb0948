"""Occlusion: sensitivity maps (Zeiler & Fergus 2013, Fig. 7) and part correspondence
(Table 1), with an incremental mode (Krypton) that recomputes only what an occluder changes.

- :func:`occlusion_sensitivity` -> :class:`OcclusionResult`: (b) feature-map total,
  (d) target probability, (e) top label per occluder position; ``to_pixels()`` gives
  Captum-style per-pixel maps. :class:`Occluder` sets window, stride, fill and padding.
- :func:`project_feature`: Fig. 7 (c) through :mod:`interpret.deconvnet`.
- :func:`part_correspondence` -> :class:`CorrespondenceResult`: Table 1.
- Figures: :mod:`interpret.occlusion.plot`.
"""

from interpret.occlusion.correspondence import (
    CorrespondenceResult,
    pairwise_sign_hamming,
    part_correspondence,
)
from interpret.occlusion.fills import (
    BlurFill,
    ConstantFill,
    Fill,
    ImageMeanFill,
    TensorFill,
    resolve_fill,
)
from interpret.occlusion.incremental import IncrementalPlan
from interpret.occlusion.result import OcclusionResult
from interpret.occlusion.sensitivity import occlusion_sensitivity, project_feature
from interpret.occlusion.windows import (
    Occluder,
    average_over_windows,
    window_coverage,
    window_positions,
)

__all__ = [
    "BlurFill",
    "ConstantFill",
    "CorrespondenceResult",
    "Fill",
    "ImageMeanFill",
    "IncrementalPlan",
    "Occluder",
    "OcclusionResult",
    "TensorFill",
    "average_over_windows",
    "occlusion_sensitivity",
    "pairwise_sign_hamming",
    "part_correspondence",
    "project_feature",
    "resolve_fill",
    "window_coverage",
    "window_positions",
]
