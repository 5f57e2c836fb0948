"""Figures that come from training: feature evolution (Fig. 4) and first-layer filters (Fig. 6).

Zeiler & Fergus (2013), Fig. 4: "Evolution of a randomly chosen subset of model features
through training ... we show a randomly chosen subset of features at epochs
[1,2,5,10,20,30,40,64]. The visualization shows the strongest activation (across all
training examples) for a given feature map, projected down to pixel space using our
deconvnet approach." Fig. 6 (a, c): the first-layer filters without and with feature
scale clipping.

Training itself (SGD, clipping, per-epoch checkpoints) lives in
:func:`interpret.models.train_zfnet`; this module reads its checkpoints.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from interpret.core.results import Result
from interpret.core.scan import scan
from interpret.core.sites import get_module
from interpret.deconvnet.gradient import RELU_FAMILY, FunctionalPolicy
from interpret.deconvnet.project import Route
from interpret.deconvnet.top import TopActivations
from interpret.deconvnet.top_projections import TopProjectionsResult, project_top

__all__ = ["EvolutionResult", "FiltersResult", "evolution", "layer_filters", "load_checkpoint"]

Checkpoint = Mapping[str, Tensor] | str | os.PathLike[str]


@dataclass(frozen=True)
class EvolutionResult(Result):
    """The strongest projection of chosen feature maps at each checkpoint (Fig. 4).

    Attributes
    ----------
    labels:
        One label per checkpoint (``"epoch 1"``...).
    sites:
        The sites shown, in order.
    snapshots:
        ``site -> [TopProjectionsResult per checkpoint]``, each with ``k = 1`` (the
        strongest activation over the dataset) for the chosen channels.
    """

    labels: tuple[str, ...]
    sites: tuple[str, ...]
    snapshots: dict[str, list[TopProjectionsResult]]


@dataclass(frozen=True)
class FiltersResult(Result):
    """The filters of one convolution (Fig. 6).

    Attributes
    ----------
    weights:
        ``(F, C, kh, kw)`` raw filter weights.
    rms:
        ``(F,)`` root mean square of each filter (what feature scale clipping bounds).
    site, label:
        The convolution's name and a caption (e.g. ``"with clipping, epoch 5"``).
    """

    weights: Tensor
    rms: Tensor
    site: str
    label: str = ""


def load_checkpoint(checkpoint: Checkpoint) -> dict[str, Tensor]:
    """A state dict from a mapping or a ``torch.save`` file (``weights_only`` loading).

    A file holding ``{"model": sd}``, ``{"state_dict": sd}`` or ``{"model_state_dict": sd}``
    is unwrapped.
    """
    if isinstance(checkpoint, (str, os.PathLike)):
        path = Path(checkpoint)
        if not path.is_file():
            raise ValueError(f"No checkpoint file at {path}.")
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f"A checkpoint is a state dict or a path, not {type(checkpoint).__name__}.")
    for key in ("model", "state_dict", "model_state_dict"):
        inner = checkpoint.get(key)
        if isinstance(inner, Mapping):
            checkpoint = inner
            break
    return dict(checkpoint)


def _first_conv(model: nn.Module) -> str:
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name
    raise ValueError("The model has no nn.Conv2d.")


def layer_filters(model: nn.Module, site: str | None = None, label: str = "") -> FiltersResult:
    """The filters of convolution ``site`` (default the first ``nn.Conv2d``), for Fig. 6.

    Example
    -------
    >>> from interpret.testing import chain_cnn
    >>> res = layer_filters(chain_cnn())
    >>> res.site, tuple(res.weights.shape)
    ('features.0', (6, 3, 3, 3))
    """
    site = site if site is not None else _first_conv(model)
    conv = get_module(model, site)
    if not isinstance(conv, nn.Conv2d):
        raise ValueError(f"{site!r} is a {type(conv).__name__}, not an nn.Conv2d.")
    weights = conv.weight.detach().cpu().clone()
    rms = weights.pow(2).flatten(1).mean(1).sqrt()
    return FiltersResult(weights=weights, rms=rms, site=site, label=label)


def evolution(
    model: nn.Module,
    checkpoints: Sequence[Checkpoint],
    data: Dataset,
    channels: Mapping[str, Sequence[int]],
    *,
    labels: Sequence[str] | None = None,
    route: Route = "auto",
    rectifiers: tuple[type[nn.Module], ...] = RELU_FAMILY,
    functional: FunctionalPolicy = "raise",
    batch_size: int = 64,
    progress: bool = False,
) -> EvolutionResult:
    """Strongest projection of chosen feature maps at each checkpoint (Zeiler & Fergus Fig. 4).

    Parameters
    ----------
    model:
        The architecture; it is copied and each checkpoint is loaded into the copy
        (strictly), so ``model`` itself is not changed.
    checkpoints:
        State dicts or paths, in training order (e.g. ``history.checkpoints`` from
        :func:`interpret.models.train_zfnet`).
    data:
        The dataset searched for the strongest activation (the paper: the training set).
    channels:
        ``site -> channels`` to follow, e.g. ``{"features.4": [0, 5], "features.8": [3]}``.
    labels:
        One caption per checkpoint; default ``"epoch 1"``, ``"epoch 2"``, ...
    route, rectifiers, functional, batch_size:
        As for :func:`interpret.deconvnet.project_top`.
    progress:
        Show the scans' progress bars.

    Returns
    -------
    EvolutionResult
    """
    if not checkpoints:
        raise ValueError("Give at least one checkpoint.")
    if not channels:
        raise ValueError("Give at least one site with channels to follow.")
    labels = (
        tuple(labels)
        if labels is not None
        else tuple(f"epoch {i + 1}" for i in range(len(checkpoints)))
    )
    if len(labels) != len(checkpoints):
        raise ValueError(f"{len(labels)} labels for {len(checkpoints)} checkpoints.")
    sites = tuple(channels)
    for site in sites:
        get_module(model, site)
    work = copy.deepcopy(model)
    snapshots: dict[str, list[TopProjectionsResult]] = {site: [] for site in sites}
    for checkpoint in checkpoints:
        state: dict[str, Any] = load_checkpoint(checkpoint)
        work.load_state_dict(state)
        analyzers = [TopActivations(site, k=1) for site in sites]
        tops = scan(work, data, analyzers, batch_size=batch_size, progress=progress)
        for site, top in zip(sites, tops):
            snapshots[site].append(
                project_top(
                    work,
                    data,
                    top,
                    channels=list(channels[site]),
                    route=route,
                    rectifiers=rectifiers,
                    functional=functional,
                    batch_size=batch_size,
                )  # fmt: skip
            )
    return EvolutionResult(labels=labels, sites=sites, snapshots=snapshots)
