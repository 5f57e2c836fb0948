"""``build``: the unit atlas of a model over labelled data, written atomically.

1. Resolve the model and the data as the report does (:func:`interpret.models.resolve_model`,
   :func:`interpret.data.resolve.resolve_data`); check the sites and the output folder
   before anything is written.
2. Compute (:func:`~interpret.atlas.compute.compute_atlas`: one scan, projections,
   optional feature visualizations) into a temporary sibling folder ``.<out>.tmp-*``.
3. Save the numbers (``data/atlas.pt``, :meth:`~interpret.core.Result.save`) and the
   pictures (``img/``), draw the pages, then move the folder into place; on any failure
   or interruption the temporary folder is removed and an earlier atlas stays as it was.

``build(out, rebuild=True)`` draws the pages again from ``data/`` and ``img/`` without
computing anything; ``build(out, model, extend=True, maximize=...)`` adds feature
visualizations of more units without a scan (:mod:`interpret.atlas.extend`). Under
``torch.distributed`` the scan is sharded and the rest runs on rank 0
(:mod:`interpret.atlas.ranks`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from interpret.atlas.compute import (
    MAX_UNITS,
    AtlasData,
    Computed,
    _example,
    check_sites,
    default_sites,
    finish_atlas,
    scan_atlas,
)
from interpret.atlas.extend import plan_extension, refuse_unused, write_extension
from interpret.atlas.facts import class_index, folder, site_summary, site_title, unit_facts
from interpret.atlas.images import (
    image_format,
    sprite,
    thumbnails,
    visualization_picture,
    write_image,
)
from interpret.atlas.pages import index_page, search_js, site_page, unit_page
from interpret.atlas.ranks import on_lead
from interpret.atlas.view import Atlas
from interpret.atlas.visualizations import Spec, maximize_units, parse_maximize

__all__ = ["MARKER", "build", "atlas"]

MARKER = ".interpret-atlas"
"""File that marks a folder as an atlas (only such folders are replaced)."""


def _check_out(out: Path, reuse: str | None) -> None:
    """The report's rule (:mod:`interpret.report.pipeline`) with the atlas's marker."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder; choose another output folder.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ValueError(
            f"{out} is a folder that holds other files and no earlier atlas; choose a new "
            "or empty output folder (an atlas replaces its folder)."
        )
    if reuse and not (out / "data" / "atlas.pt").is_file():
        raise ValueError(f"{out} holds no atlas to {reuse} (no data/atlas.pt); build one first.")


class _Labelled(Dataset):
    """Items of several datasets as one, each with a given label."""

    def __init__(self, items: list[tuple[Dataset, int, int]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Any:
        dataset, j, label = self.items[i]
        item = dataset[j]
        return (item[0] if isinstance(item, (tuple, list)) else item), label


def default_data(preprocess: Any) -> tuple[Dataset, str, tuple[str, ...], tuple[str, ...]]:
    """The bundled photos (each photo a class) and faces vs non-faces, in one labelled set."""
    from interpret.data.resolve import resolve_data

    samples = resolve_data(["samples"], preprocess)
    faces = resolve_data(["faces"], preprocess)
    photos = [name.split(" (")[0] for name in samples.item_names]
    classes = sorted(set(photos))
    face_names = tuple(faces.class_names or ("non-face", "face"))
    names = (*classes, *face_names)
    items = [(samples.dataset, i, classes.index(p)) for i, p in enumerate(photos)]
    items += [(faces.dataset, i, len(classes) + int(t)) for i, t in enumerate(faces.targets)]
    item_names = (*samples.item_names, *faces.item_names)
    return _Labelled(items), "samples + faces", item_names, names


def _resolve(
    model: str | None,
    data: Any,
    weights: str | None,
    image_size: int | None,
    max_images: int | None,
    device: str,
    skip_bad_images: bool = False,
) -> tuple[Any, Dataset, str, tuple, tuple | None]:
    from interpret.data.resolve import resolve_data
    from interpret.models.resolve import resolve_model

    loaded = resolve_model(model or "efficientnet_lite0", weights, image_size=image_size or 224,
                           device=device)  # fmt: skip
    if data is None and loaded.default_data == "samples" and loaded.preprocess.channels == 3:
        dataset, name, items, classes = default_data(loaded.preprocess)
        return loaded, dataset, name, items, classes
    source = resolve_data(data, loaded.preprocess, loaded.default_data, max_images=max_images,
                          skip_bad_images=skip_bad_images)  # fmt: skip
    return loaded, source.dataset, source.name, source.item_names, source.class_names


def build(
    out: str | os.PathLike[str],
    model: str | None = None,
    data: str | Sequence[str] | None = None,
    *,
    weights: str | None = None,
    sites: Sequence[str] | None = None,
    max_units: int | None = None,
    maximize: Spec | None = None,
    k: int | None = None,
    batch_size: int | None = None,
    image_size: int | None = None,
    max_images: int | None = None,
    skip_bad_images: bool = False,
    device: str = "cpu",
    rebuild: bool = False,
    extend: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> Atlas:
    """Write the unit atlas of ``model`` over ``data`` to the folder ``out``.

    Under ``torch.distributed`` (an initialised group of several ranks) every rank calls
    ``build`` with the same arguments: the scan is sharded, and projections, feature
    visualizations and writing run on rank 0 alone; every rank returns the same
    :class:`Atlas` (see :mod:`interpret.atlas.ranks`).

    Parameters
    ----------
    out:
        A new or empty folder, or an earlier atlas (replaced only when this one is done).
    model, weights, data, image_size, max_images, skip_bad_images:
        As for ``interpret report``: a model name, ``package.module:factory`` or checkpoint;
        a folder of class subfolders, a labels CSV, a factory, files or a bundled name.
        Default: the bundled EfficientNet-Lite0 over the sample photos and faces.
    sites:
        Spatial sites (default: three stages, see
        :func:`~interpret.atlas.compute.default_sites`).
    max_units:
        Refuse sites with more units (``ValueError`` naming the site and its count;
        default 512).
    maximize:
        Feature visualizations: ``"none"``, ``"auto"`` (the 8 most selective units per
        site on the CPU, 16 on a GPU), ``"all"``, or units: ``"blocks.5:3,7,9"``,
        ``"blocks.5:0-15;blocks.6:all"``, ``{"blocks.5": [3, 7, 9]}``.
    k, batch_size:
        Dataset crops per unit (default 9); images per batch (default 32).
    rebuild:
        Draw the pages again from the saved ``data/`` and ``img/`` (no model, no scan);
        any other option is refused (``ValueError``).
    extend:
        Add the feature visualizations that ``maximize`` names and the atlas lacks
        (:mod:`interpret.atlas.extend`): needs ``model`` (default: the name the atlas
        saved) and ``weights`` as for the build, reads no data, runs no scan; ``data``,
        ``sites``, ``k``, ``batch_size``, ``max_units`` and ``max_images`` are refused
        (``ValueError``), as the atlas keeps its own.

    Returns
    -------
    Atlas
        The written atlas (``atlas.unit(site, unit)`` gives a unit card for notebooks);
        ``atlas.seconds`` holds the wall time of each stage.
    """
    out = Path(out)
    if rebuild and extend:
        raise ValueError("Pass rebuild or extend, not both (extend draws every page again).")
    given = {"model": model, "weights": weights, "data": data, "sites": sites,
             "max_units": max_units, "maximize": maximize, "k": k, "batch_size": batch_size,
             "image_size": image_size, "max_images": max_images,
             "skip_bad_images": skip_bad_images or None}  # fmt: skip
    refuse_unused(given, rebuild, extend)
    max_units = MAX_UNITS if max_units is None else max_units
    maximize = "auto" if maximize is None else maximize
    k, batch_size = 9 if k is None else k, 32 if batch_size is None else batch_size
    _check_out(out, "rebuild" if rebuild else "extend" if extend else None)
    say = log or (lambda message: None)
    seconds: dict[str, float] = {}
    if rebuild:
        return on_lead(lambda: _write(out, seconds, say, lambda tmp: _copy_saved(out, tmp)))
    if extend:
        return on_lead(lambda: _extend(out, model, weights, image_size, device, maximize,
                                       seconds, say))  # fmt: skip
    start = time.perf_counter()
    loaded, dataset, name, items, classes = _resolve(
        model, data, weights, image_size, max_images, device, skip_bad_images
    )
    example = _example(dataset).to(loaded.device)
    if sites is None:
        sites = default_sites(loaded.model, example, max_units)
    shapes = check_sites(loaded.model, example, list(sites), max_units)
    if parse_maximize(maximize) != "auto":  # unknown sites or units fail before the scan
        maximize_units(maximize, shapes, [], loaded.device)
    seconds["load"] = time.perf_counter() - start
    scanned = scan_atlas(loaded.model, dataset, list(sites), class_names=classes, k=k,
                         batch_size=batch_size, max_units=max_units, progress=progress)  # fmt: skip

    def fill(tmp: Path) -> AtlasData:
        computed = finish_atlas(
            loaded.model, dataset, scanned, preprocess=loaded.preprocess, class_names=classes,
            k=k, batch_size=batch_size, max_units=max_units, maximize=maximize,
            names=(loaded.name, name, tuple(items)),
        )  # fmt: skip
        seconds.update(computed.seconds)
        say(f"scan {computed.seconds['scan']:.1f} s, projections "
            f"{computed.seconds['projections']:.1f} s")  # fmt: skip
        start = time.perf_counter()
        _write_pictures(computed, tmp)
        seconds["pictures"] = time.perf_counter() - start
        (tmp / "data").mkdir()
        computed.data.save(tmp / "data" / "atlas.pt")
        return computed.data

    return on_lead(lambda: _write(out, seconds, say, fill))


def _copy_saved(out: Path, tmp: Path) -> AtlasData:
    shutil.copytree(out / "data", tmp / "data")
    shutil.copytree(out / "img", tmp / "img")
    return AtlasData.load(tmp / "data" / "atlas.pt")


def _extend(
    out: Path,
    model: str | None,
    weights: str | None,
    image_size: int | None,
    device: str,
    maximize: Spec,
    seconds: dict[str, float],
    say: Callable[[str], None],
) -> Atlas:
    from interpret.models.resolve import resolve_model

    def load(saved_name: str) -> Any:
        return resolve_model(model or saved_name, weights, image_size=image_size or 224,
                             device=device)  # fmt: skip

    start = time.perf_counter()
    ext = plan_extension(out, maximize, load)
    seconds["load"] = time.perf_counter() - start
    if not ext.count:
        say("every unit named already has a feature visualization; drawing the pages again")

    def fill(tmp: Path) -> AtlasData:
        data = _copy_saved(out, tmp)
        return write_extension(ext, tmp, seconds, say) if ext.count else data

    return _write(out, seconds, say, fill)


def _write(
    out: Path,
    seconds: dict[str, float],
    say: Callable[[str], None],
    fill: Callable[[Path], AtlasData],
) -> Atlas:
    """``fill(tmp)`` writes ``data/`` and ``img/`` into a temporary sibling of ``out``;
    then the pages, the marker, and the swap into place (nothing left on failure)."""
    created = _missing_parents(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        data = fill(tmp)
        start = time.perf_counter()
        _write_pages(data, tmp, seconds)
        seconds["pages"] = time.perf_counter() - start
        (tmp / MARKER).write_text("interpret atlas\n", encoding="utf-8")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for parent in created:
            if parent.exists() and not any(parent.iterdir()):
                parent.rmdir()
        raise
    say(f"wrote {out / 'index.html'}")
    return Atlas(out, data, seconds)


atlas = build
"""Alias of :func:`build` (``interpret.atlas.atlas(...)``)."""


def _write_pictures(computed: Computed, tmp: Path) -> None:
    fmt = image_format()
    for site, proj in computed.projections.items():
        place = tmp / "img" / folder(site)
        place.mkdir(parents=True)
        strips = proj.strips
        for unit in range(len(strips)):
            write_image(place / f"u{unit}.{fmt}", strips[unit], fmt)
        fv = {}
        images = computed.visualizations.get(site)
        maximized = computed.data.sites[site].maximized.tolist()
        if images is not None:
            for unit, image in zip(maximized, images):
                fv[unit] = image
                write_image(place / f"fv{unit}.{fmt}", visualization_picture(image), fmt)
        write_image(place / f"sprite.{fmt}", sprite(thumbnails(strips, fv)), fmt)


def _picture(tmp: Path, site: str, name: str) -> str | None:
    found = sorted((tmp / "img" / folder(site)).glob(f"{name}.*"))
    return found[0].name if found else None


def _write_pages(data: AtlasData, tmp: Path, seconds: dict[str, float]) -> None:
    import interpret

    meta = {
        "model": data.model,
        "data": data.data,
        "images": len(data.item_names),
        "classes": list(data.class_names or ()),
        "k": data.settings.get("k", 9),
        "created": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "seconds": sum(seconds.values()),
        "version": interpret.__version__,
        "input": data.settings.get("input_shape"),
    }
    names = list(data.class_names or ())
    sites_info = {}
    for site, sd in data.sites.items():
        summary = site_summary(sd)
        place = tmp / folder(site)
        place.mkdir(exist_ok=True)
        sprite_name = _picture(tmp, site, "sprite")
        rel = f"../img/{folder(site)}/"
        (place / "index.html").write_text(
            site_page(
                site, summary, names, rel + str(sprite_name), sd.route, site_title(data, site)
            ),
            encoding="utf-8",
        )
        for unit in range(sd.shape[0]):
            facts = unit_facts(data, site, unit, summary)
            fv = _picture(tmp, site, f"fv{unit}") if facts["maximized"] else None
            page = unit_page(facts, rel + str(_picture(tmp, site, f"u{unit}")),
                             rel + fv if fv else None)  # fmt: skip
            (place / f"{unit}.html").write_text(page, encoding="utf-8")
        sites_info[site] = {
            "units": sd.shape[0],
            "shape": tuple(sd.shape),
            "dead": summary.dead.nonzero().flatten().tolist(),
            "dominating": summary.dominating.nonzero().flatten().tolist(),
            "route": sd.route,
            "module": data.settings.get("modules", {}).get(site, ""),
        }
    (tmp / "index.html").write_text(index_page(meta, sites_info), encoding="utf-8")
    classes = class_index(data)
    (tmp / "search.js").write_text(
        search_js({s: i["units"] for s, i in sites_info.items()}, classes), encoding="utf-8"
    )


def _missing_parents(path: Path) -> list[Path]:
    from interpret.report.pipeline import _missing_parents as missing

    return missing(path)


def _swap_into_place(tmp: Path, out: Path) -> None:
    from interpret.report.pipeline import _swap_into_place as swap

    swap(tmp, out)
