"""What the pages say about units, read from :class:`~interpret.atlas.compute.AtlasData`.

Definitions (also stated on the index page):

- *dead*: the unit's strongest activation over the data (any image, any position) is
  ``<= 0``; it never fires.
- *dominating*: its mean activation (per-image spatial mean, averaged over images) is
  more than ``DOMINATING`` times the median of ``|mean|`` over the site's units.
- *sparsity*: the fraction of (image, position) values ``<= 0``.
- *best class*: the class whose best single-unit threshold classifier has the highest
  balanced accuracy (DeepID2+); its excitatory / inhibitory label by the Selectivity's
  :class:`~interpret.neurons.LabelRule`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from interpret.atlas.compute import AtlasData, SiteData, best_accuracy

__all__ = [
    "DOMINATING",
    "LABELS",
    "SiteSummary",
    "folder",
    "site_summary",
    "site_title",
    "unit_facts",
]

DOMINATING = 8.0
LABELS = {1: "excitatory", 0: "uncertain", -1: "inhibitory"}


def folder(site: str) -> str:
    """The site's folder name in the atlas (``#`` of repeated calls becomes ``~``)."""
    return site.replace("#", "~")


@dataclass(frozen=True)
class SiteSummary:
    """Per-unit columns of one site, each ``(C,)``."""

    mean: Tensor
    std: Tensor
    min: Tensor
    max: Tensor
    peak: Tensor
    sparsity: Tensor
    dead: Tensor
    dominating: Tensor
    best_class: Tensor
    accuracy: Tensor
    label: Tensor


def site_summary(sd: SiteData) -> SiteSummary:
    """The columns of the site page's table (see the module docstring)."""
    mean = sd.stats.mean.double()
    peak = sd.top.values[:, 0].double()
    median = mean.abs().median()
    best, acc, lab = best_accuracy(sd.selectivity)
    return SiteSummary(
        mean=mean,
        std=sd.stats.std.double(),
        min=sd.stats.min.double(),
        max=sd.stats.max.double(),
        peak=peak,
        sparsity=1.0 - sd.stats.active_fraction.double(),
        dead=~(peak > 0),
        dominating=(mean > DOMINATING * median) & (median > 0),
        best_class=best,
        accuracy=acc.double(),
        label=lab,
    )


def site_title(data: AtlasData, site: str) -> str:
    """``"site 4 (ReLU)"``: the site with its module's class when the atlas recorded it."""
    kind = data.settings.get("modules", {}).get(site)
    return f"site {site} ({kind})" if kind else f"site {site}"


def class_name(data: AtlasData, index: int) -> str:
    if index < 0:
        return "-"
    names = data.class_names
    return names[index] if names is not None and index < len(names) else f"class {index}"


def unit_facts(data: AtlasData, site: str, unit: int, summary: SiteSummary | None = None,
               correlated: int = 5) -> dict:  # fmt: skip
    """Everything a unit page shows about ``site:unit``, as plain values."""
    if site not in data.sites:
        raise ValueError(f"No site {site!r} in this atlas; sites: {list(data.sites)}.")
    sd = data.sites[site]
    units = sd.shape[0]
    if not 0 <= unit < units:
        raise ValueError(f"Unit {unit} is out of range: {site} has units 0..{units - 1}.")
    s = summary if summary is not None else site_summary(sd)
    top = sd.top
    rows = []
    for slot in range(top.k):
        index = int(top.image_index[unit, slot])
        if index < 0:
            continue
        item = data.item_names[index] if index < len(data.item_names) else f"#{index}"
        rows.append({"value": float(top.values[unit, slot]), "index": index, "image": item,
                     "y": int(top.y[unit, slot]), "x": int(top.x[unit, slot])})  # fmt: skip
    sel = sd.selectivity
    classes = hist = None
    if sel.per_class is not None:
        g = int(s.best_class[unit])
        classes = {
            "names": [class_name(data, i) for i in range(len(sel.per_class.names))],
            "mean": [float(v) for v in sel.per_class.mean[:, unit].nan_to_num(0.0)],
            "count": [int(c) for c in sel.per_class.count],
        }
        hist = {
            "class": class_name(data, g),
            "edges": [float(e) for e in sel.edges[unit]],
            "group": [int(v) for v in sel.per_class.hist[g, unit, 1:-1]],
            "rest": [int(v) for v in sel.per_class.rest_hist[g, unit, 1:-1]],
        }
    sites = list(data.sites)
    i = sites.index(site)
    neighbours = {}
    for j in (i, i - 1, i + 1):
        if 0 <= j < len(sites):
            other = sites[j]
            found = data.correlation.most_correlated(site, unit, other, correlated)
            neighbours[other] = found
    return {
        "site": site,
        "site_title": site_title(data, site),
        "titles": {other: site_title(data, other) for other in neighbours},
        "unit": unit,
        "units": units,
        "mean": float(s.mean[unit]),
        "std": float(s.std[unit]),
        "min": float(s.min[unit]),
        "max": float(s.max[unit]),
        "peak": float(s.peak[unit]),
        "sparsity": float(s.sparsity[unit]),
        "dead": bool(s.dead[unit]),
        "dominating": bool(s.dominating[unit]),
        "best_class": class_name(data, int(s.best_class[unit])),
        "accuracy": float(s.accuracy[unit]),
        "label": LABELS[int(s.label[unit])],
        "top": rows,
        "classes": classes,
        "hist": hist,
        "correlated": neighbours,
        "route": sd.route,
        "window": sd.window,
        "maximized": bool((sd.maximized == unit).any()),
        "images": len(data.item_names) or int(sd.top.images_seen),
    }


def class_index(data: AtlasData, per_site: int = 5) -> dict[str, list[list]]:
    """``class name -> [[site, unit, accuracy], ...]``: the most selective units per class."""
    out: dict[str, list[list]] = {}
    for site, sd in data.sites.items():
        cls = sd.selectivity.per_class
        if cls is None:
            continue
        for g in range(len(cls.names)):
            units, acc = cls.best(g, per_site)
            entry = out.setdefault(class_name(data, g), [])
            entry += [[site, int(u), round(float(a), 4)] for u, a in zip(units, acc)]
    for entries in out.values():
        entries.sort(key=lambda e: -e[2] if e[2] == e[2] else 1.0)
    return out
