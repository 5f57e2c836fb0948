"""Feature visualizations for more units of an existing atlas, without a new scan.

``build(out, model, extend=True, maximize="blocks.5:3,7,9")`` (``interpret atlas OUT
--extend --maximize ...``) reads the saved numbers (``data/atlas.pt``), checks that the
model is the one the atlas was built with (its sites and their unit counts; the hash of
its weights when the atlas recorded one), optimizes only the units that have no
visualization yet, and writes the merged atlas (new ``fv<unit>`` pictures, the sprite
cells of those units, ``maximized`` in ``data/atlas.pt``, every page drawn again). The
data is not read: no scan and no projection runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from interpret.atlas.compute import AtlasData, check_sites, fingerprint
from interpret.atlas.facts import folder
from interpret.atlas.images import patch_sprite, visualization_picture, write_image
from interpret.atlas.visualizations import Spec, maximize_units, visualize
from interpret.core import model_device

__all__ = [
    "Extension",
    "check_model",
    "plan_extension",
    "refuse_unused",
    "write_extension",
]


@dataclass(frozen=True)
class Extension:
    """What an extension adds: ``site -> units`` without a visualization so far."""

    saved: AtlasData
    new: dict[str, list[int]]
    model: Any  # interpret.models.LoadedModel

    @property
    def count(self) -> int:
        return sum(len(units) for units in self.new.values())


def _probe(model: nn.Module, preprocess: Any, saved: AtlasData) -> torch.Tensor:
    """A zero image as the atlas's data was: its recorded input shape, else the
    preprocessing's size (224 when it has none)."""
    shape = saved.settings.get("input_shape")
    if shape is None:
        size = preprocess.size if preprocess.size is not None else 224
        height, width = (size, size) if isinstance(size, int) else tuple(size)
        shape = (len(preprocess.mean), height, width)
    return torch.zeros((1, *shape), device=model_device(model))


def check_model(saved: AtlasData, model: nn.Module, preprocess: Any) -> None:
    """``ValueError`` unless ``model`` has the atlas's sites with the same unit counts
    (and, when the atlas recorded it, the same weights)."""
    counts = {site: sd.shape[0] for site, sd in saved.sites.items()}
    built = f"the atlas was built with {saved.model}"
    try:
        shapes = check_sites(model, _probe(model, preprocess, saved), list(counts), 2**62)
    except ValueError as err:
        raise ValueError(
            f"This model does not fit the atlas ({built}): {err} Pass the same --model "
            "(and --weights) as for the build."
        ) from None
    for site, count in counts.items():
        if shapes[site][0] != count:
            raise ValueError(
                f"This model does not fit the atlas ({built}): {site} has {shapes[site][0]} "
                f"units, the atlas {count}. Pass the same --model (and --weights) as for the build."
            )
    saved_print = saved.settings.get("fingerprint")
    if saved_print is not None and saved_print != fingerprint(model):
        raise ValueError(
            f"This model's weights differ from those of the atlas ({built}; weight hash "
            f"{saved_print[:12]}..., this model {fingerprint(model)[:12]}...). Pass the same "
            "--model and --weights as for the build, or build a new atlas. A model without "
            "--weights that starts from random weights (a torchvision or timm name) differs "
            "each time it is loaded: save its state dict and build with --weights to extend."
        )


def plan_extension(
    out: Path,
    maximize: Spec,
    load: Callable[[str], Any],
) -> Extension:
    """Read ``out/data/atlas.pt``, load and check the model, and list the units to add.

    ``load(saved model name)`` gives the :class:`~interpret.models.LoadedModel`.
    """
    if maximize == "none":
        raise ValueError(
            "Extending adds feature visualizations: pass maximize='all', 'auto' or units "
            "such as 'blocks.5:3,7,9' (--maximize)."
        )
    saved = AtlasData.load(out / "data" / "atlas.pt")
    shapes = {site: tuple(sd.shape) for site, sd in saved.sites.items()}
    sels = [sd.selectivity for sd in saved.sites.values()]
    loaded = load(saved.model)
    wanted = maximize_units(maximize, shapes, sels, loaded.device)  # names checked here
    check_model(saved, loaded.model, loaded.preprocess)
    new = {}
    for site, units in wanted.items():
        have = set(saved.sites[site].maximized.tolist())
        missing = [u for u in units if u not in have]
        if missing:
            new[site] = missing
    return Extension(saved, new, loaded)


def write_extension(
    ext: Extension, tmp: Path, seconds: dict[str, float], say: Callable[[str], None]
) -> AtlasData:
    """Optimize the new units and write them into ``tmp`` (a copy of the atlas's ``data/``
    and ``img/``); returns the merged numbers, also saved to ``tmp/data/atlas.pt``."""
    saved, settings = ext.saved, ext.saved.settings
    listed = "; ".join(f"{site}:{','.join(map(str, units))}" for site, units in ext.new.items())
    say(f"maximize {ext.count} units: {listed}")
    start = time.perf_counter()
    size, steps = settings.get("maximize_size", 96), settings.get("maximize_steps", 64)
    images = visualize(ext.model.model, ext.model.preprocess, ext.new, size, steps)
    seconds["maximize"] = time.perf_counter() - start
    start = time.perf_counter()
    sites = dict(saved.sites)
    for site, units in ext.new.items():
        place = tmp / "img" / folder(site)
        sprite = sorted(place.glob("sprite.*"))
        fmt = sprite[0].suffix.lstrip(".") if sprite else "png"
        fv = dict(zip(units, images[site]))
        for unit, image in fv.items():
            write_image(place / f"fv{unit}.{fmt}", visualization_picture(image), fmt)
        if sprite:
            patch_sprite(sprite[0], fv)
        merged = sorted({*sites[site].maximized.tolist(), *units})
        sites[site] = dataclasses.replace(
            sites[site], maximized=torch.as_tensor(merged, dtype=torch.int64)
        )
    data = dataclasses.replace(saved, sites=sites)
    data.save(tmp / "data" / "atlas.pt")
    seconds["pictures"] = time.perf_counter() - start
    say(f"added {ext.count} feature visualizations")
    return data


_FLAGS = {"model": "--model", "weights": "--weights", "data": "--data", "sites": "--sites",
          "max_units": "--max-units", "maximize": "--maximize", "k": "--top",
          "batch_size": "--batch-size", "image_size": "--image-size",
          "max_images": "--max-images", "skip_bad_images": "--skip-bad-images"}  # fmt: skip
_EXTEND_USES = ("model", "weights", "maximize", "image_size")


def refuse_unused(given: dict[str, Any], rebuild: bool, extend: bool) -> None:
    """``ValueError`` naming the options a rebuild or an extension would ignore."""
    if not (rebuild or extend):
        return
    unused = [name for name, value in given.items()
              if value is not None and (rebuild or name not in _EXTEND_USES)]  # fmt: skip
    if not unused:
        return
    listed = ", ".join(f"{_FLAGS[name]} ({name}=)" for name in unused)
    if rebuild:
        raise ValueError(
            f"A rebuild draws the pages from the saved numbers and uses no model, data or "
            f"settings; drop {listed}, or build a new atlas into another folder."
        )
    raise ValueError(
        f"--extend (extend=True) adds feature visualizations with the atlas's own data, "
        f"sites and crops, and runs no scan; drop {listed}, or build a new atlas to change "
        "them."
    )
