"""The atlas's numbers: one scan feeding every statistic of every unit, then projections.

:func:`compute_atlas` runs :func:`interpret.scan` once over the data with, for the chosen
sites, :class:`~interpret.deconvnet.TopActivations` (top-k per unit),
:class:`~interpret.core.ActivationStats` (moments, activity), the DeepID2+
:class:`~interpret.neurons.Selectivity` (per class, excitatory / inhibitory) and
:class:`~interpret.atlas.correlation.UnitCorrelation`; then it projects every unit's
top-k with :func:`~interpret.deconvnet.project_top` (batched, a chunk of units at a time
drawn at once into uint8 strips, :mod:`interpret.atlas.projections`; switches where the
path is a chain with max pools, the gradient route otherwise) and, for a budget of units,
optimizes feature visualizations with :func:`interpret.neurons.maximize`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from interpret.atlas.correlation import CorrelationResult, UnitCorrelation
from interpret.atlas.projections import SiteProjections, project_site
from interpret.atlas.visualizations import best_accuracy, maximize_units, visualize
from interpret.core import (
    ActivationStats,
    SiteStats,
    capture,
    feature_sites,
    model_device,
    resolve_sites,
    scan,
)
from interpret.core.results import Result
from interpret.deconvnet import TopActivations, TopActivationsResult
from interpret.neurons import Selectivity, SelectivityResult

__all__ = [
    "AtlasData",
    "SiteData",
    "Computed",
    "Scanned",
    "atlas_analyzers",
    "check_sites",
    "compute_atlas",
    "default_sites",
    "best_accuracy",
    "finish_atlas",
    "fingerprint",
    "scan_atlas",
]

MAX_UNITS = 512
"""Default cap on the units of one site (``max_units``)."""


@dataclass(frozen=True)
class SiteData(Result):
    """Everything the atlas knows about the units of one site.

    Attributes
    ----------
    site:
        The capture key.
    shape:
        ``(C, h, w)`` of the site's output for one image.
    top, stats, selectivity:
        The analyzers' results (``TopActivations``, ``ActivationStats``, ``Selectivity``).
    route, window:
        How the projections were made (``"reverse"``: switches along a chain;
        ``"gradient"``: autograd with rectified signals) and cropped.
    boxes:
        ``(C, k, 4)`` int64 windows ``(top, left, bottom, right)`` of the crops.
    maximized:
        ``(m,)`` int64 units with a feature visualization.
    """

    site: str
    shape: tuple[int, ...]
    top: TopActivationsResult
    stats: SiteStats
    selectivity: SelectivityResult
    route: str
    window: str
    boxes: Tensor
    maximized: Tensor


@dataclass(frozen=True)
class AtlasData(Result):
    """The saved numbers of an atlas (``data/atlas.pt``); pages are drawn from these."""

    model: str
    data: str
    item_names: tuple[str, ...]
    class_names: tuple[str, ...] | None
    sites: dict[str, SiteData]
    correlation: CorrelationResult
    settings: dict


@dataclass
class Computed:
    """:func:`compute_atlas`'s output: the numbers, the pictures and the timings."""

    data: AtlasData
    projections: dict[str, SiteProjections]  # site -> uint8 strips and windows
    visualizations: dict[str, Tensor]  # site -> (m, C, H, W) in [0, 1]
    seconds: dict[str, float] = field(default_factory=dict)


def _example(dataset: Dataset) -> Tensor:
    item = dataset[0]
    image = item[0] if isinstance(item, (tuple, list)) else item
    if not isinstance(image, Tensor):
        raise TypeError(f"The dataset yields a {type(image).__name__}, not an image tensor.")
    return image[None]


def default_sites(model: nn.Module, example: Tensor, max_units: int = MAX_UNITS) -> list[str]:
    """Three sites spread over the model's stages (EfficientNet: ``blocks.1-3``).

    The stages are the :func:`~interpret.core.feature_sites` that contain other feature
    sites (``layer2`` holds ``layer2.0``; ``blocks.3`` holds ``blocks.3.0``), else all
    feature sites; of those with at most ``max_units`` units, the first three for a
    network of five or more stages (cheap to project) and otherwise the last three.
    """
    sites = feature_sites(model, example)
    stages = [s for s in sites if any(o.startswith(s + ".") for o in sites)] or sites
    with torch.inference_mode(), capture(model, stages) as acts:
        model(example)
        units = {k: int(v.shape[1]) for k, v in acts.items()}
    fitting = [s for s in stages if units.get(s, max_units + 1) <= max_units]
    return fitting[:3] if len(fitting) >= 5 else fitting[-3:]


def check_sites(
    model: nn.Module, example: Tensor, sites: Sequence[str], max_units: int = MAX_UNITS
) -> dict[str, tuple[int, ...]]:
    """``site -> (C, h, w)``; ``ValueError`` for unknown, non-spatial or too large sites."""
    if not sites:
        raise ValueError("Name at least one site (see 'interpret sites MODEL').")
    available = feature_sites(model, example)
    keys = []
    for site in sites:
        if not isinstance(site, str) or any(ch in site for ch in "*?["):
            raise ValueError(
                f"Name sites exactly, not {site!r}; spatial sites: {', '.join(available)}."
            )
        try:
            resolve_sites(model, [site])
        except ValueError as err:
            raise ValueError(
                f"No site {site!r} in the model ({err}); spatial sites: {', '.join(available)}."
            ) from None
        keys.append(site)
    with torch.inference_mode(), capture(model, keys) as acts:
        model(example)
        shapes = {k: tuple(v.shape[1:]) for k, v in acts.items() if isinstance(v, Tensor)}
    out = {}
    for key in keys:
        shape = shapes.get(key)
        if shape is None or len(shape) != 3:
            raise ValueError(
                f"Site {key!r} gives {'no tensor' if shape is None else f'shape {shape}'}, not "
                f"(C, h, w) maps; the atlas takes spatial sites: {', '.join(available)}."
            )
        if shape[0] > max_units:
            raise ValueError(
                f"Site {key!r} has {shape[0]} units, more than the cap of {max_units}; pass "
                f"--max-units {shape[0]} (max_units={shape[0]}) to draw them all, or pick "
                "another site."
            )
        out[key] = shape
    return out


@dataclass
class Scanned:
    """:func:`scan_atlas`'s output: the merged results of the one scan, per site."""

    shapes: dict[str, tuple[int, ...]]
    tops: list[TopActivationsResult]
    selectivities: list[SelectivityResult]
    stats: Any  # ActivationStatsResult
    correlation: CorrelationResult
    seconds: dict[str, float] = field(default_factory=dict)


def scan_atlas(
    model: nn.Module,
    dataset: Dataset,
    sites: Sequence[str],
    *,
    class_names: Sequence[str] | None = None,
    k: int = 9,
    batch_size: int = 32,
    max_units: int = MAX_UNITS,
    progress: bool = False,
) -> Scanned:
    """The atlas's one scan (sharded under ``torch.distributed``; every rank gets the merge)."""
    example = _example(dataset)
    shapes = check_sites(model, example.to(model_device(model)), sites, max_units)
    keys = list(shapes)
    start = time.perf_counter()
    results = scan(model, dataset, atlas_analyzers(keys, class_names, k), batch_size=batch_size,
                   progress=progress)  # fmt: skip
    n = len(keys)
    return Scanned(shapes, results[:n], results[n : 2 * n], results[2 * n], results[-1],
                   {"scan": time.perf_counter() - start})  # fmt: skip


def finish_atlas(
    model: nn.Module,
    dataset: Dataset,
    scanned: Scanned,
    *,
    preprocess: Any,
    class_names: Sequence[str] | None = None,
    k: int = 9,
    batch_size: int = 32,
    max_units: int = MAX_UNITS,
    maximize: dict[str, Sequence[int]] | str = "none",
    maximize_size: int = 96,
    maximize_steps: int = 64,
    names: tuple[str, str, tuple[str, ...]] = ("model", "data", ()),
) -> Computed:
    """Projections and feature visualizations after :func:`scan_atlas` (one process)."""
    shapes, keys = scanned.shapes, list(scanned.shapes)
    seconds = dict(scanned.seconds)
    start = time.perf_counter()
    shape = tuple(_example(dataset).shape[1:])
    projections = {  # uint8 strips, a chunk of units at a time (projections.py)
        s: project_site(
            model, dataset, top, preprocess, input_shape=shape, batch_size=batch_size
        )  # fmt: skip
        for s, top in zip(keys, scanned.tops)
    }
    seconds["projections"] = time.perf_counter() - start
    chosen = maximize_units(maximize, shapes, scanned.selectivities, model_device(model))
    start = time.perf_counter()
    visualizations = visualize(model, preprocess, chosen, maximize_size, maximize_steps)
    seconds["maximize"] = time.perf_counter() - start
    site_data = {
        s: SiteData(
            site=s,
            shape=shapes[s],
            top=top,
            stats=scanned.stats.sites[s],
            selectivity=sel,
            route=projections[s].route,
            window=projections[s].window,
            boxes=projections[s].boxes,
            maximized=torch.as_tensor(chosen.get(s, []), dtype=torch.int64),
        )
        for s, top, sel in zip(keys, scanned.tops, scanned.selectivities)
    }
    data = AtlasData(
        model=names[0],
        data=names[1],
        item_names=tuple(names[2]),
        class_names=tuple(class_names) if class_names is not None else None,
        sites=site_data,
        correlation=scanned.correlation,
        settings={"k": k, "batch_size": batch_size, "max_units": max_units,
                  "maximize_size": maximize_size, "maximize_steps": maximize_steps,
                  "fingerprint": fingerprint(model), "input_shape": list(shape),
                  "modules": module_types(model, keys)},
    )  # fmt: skip
    return Computed(data, projections, visualizations, seconds)


def compute_atlas(
    model: nn.Module,
    dataset: Dataset,
    sites: Sequence[str],
    *,
    preprocess: Any,
    class_names: Sequence[str] | None = None,
    k: int = 9,
    batch_size: int = 32,
    max_units: int = MAX_UNITS,
    maximize: dict[str, Sequence[int]] | str = "none",
    maximize_size: int = 96,
    maximize_steps: int = 64,
    progress: bool = False,
    names: tuple[str, str, tuple[str, ...]] = ("model", "data", ()),
) -> Computed:
    """One scan, the projections and the optional feature visualizations of an atlas.

    :func:`scan_atlas` then :func:`finish_atlas` (the builder runs the second on rank 0
    only under ``torch.distributed``).

    Parameters
    ----------
    model, dataset:
        The model (eval mode, on its device) and a Dataset yielding ``(image, label)``
        (label ``-1``: unlabelled).
    sites:
        Spatial sites (``(N, C, h, w)`` outputs), each with at most ``max_units`` units.
    preprocess:
        The model's :class:`interpret.data.Preprocess` (feature visualization needs its
        ``mean``/``std``).
    class_names:
        Names of the labels; ``None``: the labels are not named (``class 0``, ...).
    k:
        Dataset crops per unit (the deepvis toolbox and Zeiler & Fergus show 9).
    maximize:
        ``"none"``, ``"auto"`` (the 8 most selective units per site; 16 on a GPU),
        ``"all"``, or ``site -> units``.
    names:
        ``(model name, data name, item names)`` recorded in the result.
    """
    scanned = scan_atlas(model, dataset, sites, class_names=class_names, k=k,
                         batch_size=batch_size, max_units=max_units, progress=progress)  # fmt: skip
    return finish_atlas(model, dataset, scanned, preprocess=preprocess, class_names=class_names,
                        k=k, batch_size=batch_size, max_units=max_units, maximize=maximize,
                        maximize_size=maximize_size, maximize_steps=maximize_steps,
                        names=names)  # fmt: skip


def module_types(model: nn.Module, sites: Sequence[str]) -> dict[str, str]:
    """``site -> class name of its module`` (``"ReLU"``, ``"Sequential"``; a repeated call
    ``name#1`` is its module's)."""
    modules = dict(model.named_modules())
    found = {s: modules.get(s.split("#")[0]) for s in sites}
    return {s: type(m).__name__ for s, m in found.items() if m is not None}


def fingerprint(model: nn.Module) -> str:
    """A hash of the model's state dict (names, shapes, dtypes and bytes of every tensor)."""
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def atlas_analyzers(sites: Sequence[str], class_names: Sequence[str] | None, k: int) -> list:
    """The analyzers of the atlas's one scan, in the order :func:`compute_atlas` reads them:
    ``TopActivations`` per site, ``Selectivity`` per site, ``ActivationStats``,
    ``UnitCorrelation``."""
    keys = list(sites)
    classes = list(class_names) if class_names is not None else None
    tops = [TopActivations(s, k=k) for s in keys]
    sels = [Selectivity(s, classes=classes, allow_empty=True) for s in keys]
    return [*tops, *sels, ActivationStats(keys, k=1), UnitCorrelation(keys)]
