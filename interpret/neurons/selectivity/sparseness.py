"""How sparse a layer's responses are: neurons active per image, images per neuron.

DeepID2+ (Sun, Wang & Tang, CVPR 2015, Sec. 5.1) finds its top-layer features
*moderately sparse*: about half of the neurons are active on an image and each neuron is
active on about half of the images. :class:`SparsityResult` holds both distributions
exactly (counts, not samples) so the claim becomes two numbers and two histograms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from interpret.core.results import Result
from interpret.core.validate import check_finite, check_finite_number, check_real

__all__ = ["SparsityResult", "sparsity"]


@dataclass(frozen=True)
class SparsityResult(Result):
    """Activity counts of ``D`` neurons over ``num_images`` images.

    A neuron is *active* on an image when its value is ``> active_threshold``.

    Attributes
    ----------
    neurons_per_image:
        ``(D + 1,)`` int64: entry ``j`` is the number of images on which exactly ``j``
        neurons are active.
    images_per_neuron:
        ``(D,)`` int64: the number of images on which each neuron is active.
    active_threshold, num_images, num_neurons:
        The parameters and sizes behind the counts.
    """

    neurons_per_image: Tensor
    images_per_neuron: Tensor
    active_threshold: float
    num_images: int
    num_neurons: int

    @property
    def fraction_per_image(self) -> Tensor:
        """``(D + 1,)`` the active fractions ``j / D`` that ``neurons_per_image`` counts."""
        return torch.arange(self.num_neurons + 1, dtype=torch.float64) / max(self.num_neurons, 1)

    @property
    def fraction_per_neuron(self) -> Tensor:
        """``(D,)`` share of the images on which each neuron is active."""
        return self.images_per_neuron.to(torch.float64) / max(self.num_images, 1)

    @property
    def mean_active_per_image(self) -> float:
        """Mean over images of the share of neurons active (0 = silent, 1 = all on)."""
        if self.num_images == 0:
            return float("nan")
        counts = self.neurons_per_image.to(torch.float64)
        return float((counts * self.fraction_per_image).sum() / self.num_images)

    @property
    def mean_images_per_neuron(self) -> float:
        """Mean over neurons of the share of images on which the neuron is active.

        Equal to :attr:`mean_active_per_image` (both are the share of active
        (image, neuron) pairs); the two distributions differ.
        """
        return float(self.fraction_per_neuron.mean()) if self.num_neurons else float("nan")

    @property
    def dead_neurons(self) -> Tensor:
        """Indices of neurons never active."""
        return torch.nonzero(self.images_per_neuron == 0).flatten()

    @property
    def always_on_neurons(self) -> Tensor:
        """Indices of neurons active on every image."""
        return torch.nonzero(self.images_per_neuron == self.num_images).flatten()

    def summary(self) -> str:
        """One line: the two mean fractions and the dead / always-on neuron counts."""
        return (
            f"{self.mean_active_per_image:.1%} of the {self.num_neurons} neurons active per "
            f"image on average (over {self.num_images} images, threshold "
            f"{self.active_threshold:g}); {len(self.dead_neurons)} never active, "
            f"{len(self.always_on_neurons)} always active"
        )


def sparsity(values: Tensor, active_threshold: float = 0.0) -> SparsityResult:
    """Sparsity of ``values`` ``(N, D)`` (one row per image) held in memory.

    The streaming :class:`~interpret.neurons.selectivity.Selectivity` computes the same
    counts during a scan; this is the direct version for vectors you already have.
    """
    if not isinstance(values, Tensor):
        raise TypeError(f"values must be an (N, D) tensor, not {type(values).__name__}.")
    check_real(values, "values")
    if values.ndim != 2:
        raise ValueError(f"values must be (N, D), got shape {tuple(values.shape)}.")
    check_finite(values, "values", "drop or fix those rows first")
    check_finite_number(active_threshold, "active_threshold")
    active = values.detach().cpu().to(torch.float64) > active_threshold
    n, d = active.shape
    return SparsityResult(
        neurons_per_image=torch.bincount(active.sum(1), minlength=d + 1),
        images_per_neuron=active.sum(0).long(),
        active_threshold=float(active_threshold),
        num_images=n,
        num_neurons=d,
    )
