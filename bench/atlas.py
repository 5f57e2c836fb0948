"""The unit atlas against the bare scan of the same model and data.

All units of three sites of the bundled EfficientNet-Lite0 (``blocks.1``, ``blocks.2``,
``blocks.3``: 24 + 40 + 80 units) over the sample photos and the faces (the default
atlas's data), on the CPU by default. Measured, in CPU seconds of this process (one
torch thread; wall time on a shared machine varies with other jobs):

- bare: batched inference over the data; atlas scan: the same pass feeding every unit
  statistic (``TopActivations``, ``Selectivity`` per site, ``ActivationStats``,
  ``UnitCorrelation``). Target: atlas scan throughput >= 0.85x bare.
- projections: the deconvnet projections of every unit's top-9 (time per unit printed),
  a chunk of units at a time as the atlas makes them (:mod:`interpret.atlas.projections`).
- the rest: drawing the strips (done per chunk, timed apart) and sprites, encoding them,
  writing the pages. Target:
  under 25% of scan + projections + rest. Feature visualization is left out.

Last line: one JSON object with the ratios, targets and whether they are met.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(__file__))
from _common import best_time, parse, ratio, report  # noqa: E402

from interpret import scan  # noqa: E402
from interpret.atlas.builder import _write_pages, _write_pictures, default_data  # noqa: E402
from interpret.atlas.compute import (  # noqa: E402
    AtlasData,
    Computed,
    SiteData,
    atlas_analyzers,
)
from interpret.atlas.projections import project_site  # noqa: E402
from interpret.models import resolve_model  # noqa: E402

SITES = ("blocks.1", "blocks.2", "blocks.3")


def cpu_once(fn):
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-images", type=int, default=None, help="fewer images (quick run)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parse(parser, quick={"max_images": 12, "repeats": 1})
    torch.set_num_threads(1)
    device = torch.device(args.device)
    loaded = resolve_model("efficientnet_lite0", device=device)
    model = loaded.model
    dataset, name, items, classes = default_data(loaded.preprocess)
    count = len(dataset) if args.max_images is None else min(args.max_images, len(dataset))
    pairs = [dataset[i] for i in range(count)]
    images = torch.stack([p[0] for p in pairs]).to(device)
    data = TensorDataset(images, torch.tensor([p[1] for p in pairs]))

    def bare() -> None:
        with torch.inference_mode():
            for x, _ in DataLoader(data, batch_size=args.batch_size):
                model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    results: list = []

    def atlas_scan() -> None:
        analyzers = atlas_analyzers(SITES, classes, 9)
        results[:] = scan(model, data, analyzers, batch_size=args.batch_size, progress=False)

    t_bare = best_time(bare, repeats=args.repeats)
    t_scan = best_time(atlas_scan, repeats=args.repeats)
    n = len(SITES)
    tops, sels, stats, corr = results[:n], results[n : 2 * n], results[2 * n], results[-1]
    projections, t_proj = cpu_once(
        lambda: {
            s: project_site(model, data, t, loaded.preprocess, input_shape=tuple(images.shape[1:]),
                            batch_size=args.batch_size)
            for s, t in zip(SITES, tops)
        }
    )  # fmt: skip
    t_strips = sum(p.drawing_s for p in projections.values())  # drawing, inside project_site
    t_proj -= t_strips
    units = sum(int(t.values.shape[0]) for t in tops)
    none = torch.zeros(0, dtype=torch.long)
    sites = {
        s: SiteData(s, (int(t.values.shape[0]), *t.map_size), t, stats.sites[s], sel, p.route,
                    p.window, p.boxes, none)
        for s, t, sel, p in zip(SITES, tops, sels, projections.values())
    }  # fmt: skip
    atlas_data = AtlasData(loaded.name, name, tuple(items[:count]), tuple(classes), sites, corr,
                           {"k": 9})  # fmt: skip
    computed = Computed(atlas_data, projections, {})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _, t_pictures = cpu_once(lambda: _write_pictures(computed, out))
        t_pictures += t_strips
        _, t_pages = cpu_once(lambda: _write_pages(atlas_data, out, {}))
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        atlas_data.save(out / "atlas.pt")
        size += (out / "atlas.pt").stat().st_size
    t_rest = t_pictures + t_pages
    total = t_scan + t_proj + t_rest
    print(
        f"{count} images, sites {', '.join(SITES)} ({units} units), device {device}, "
        f"threads {torch.get_num_threads()}\n"
        f"bare {count / t_bare:.1f} img/s, atlas scan {count / t_scan:.1f} img/s "
        f"({t_bare:.1f} s vs {t_scan:.1f} s CPU)\n"
        f"projections {t_proj:.1f} s ({t_proj / units:.2f} s per unit, route "
        f"{', '.join(sorted({p.route for p in projections.values()}))}); pictures "
        f"{t_pictures:.1f} s, pages {t_pages:.1f} s; atlas {size / 2**20:.1f} MiB "
        f"without feature visualizations"
    )
    report(
        {
            "scan_vs_bare_throughput": ratio(t_bare / t_scan, 0.85, images=count),
            "rest_share_of_total": ratio(
                t_rest / total,
                0.25,
                higher_is_better=False,
                rest_s=round(t_rest, 2),
                total_s=round(total, 2),
            ),
            "projection_s_per_unit": round(t_proj / units, 3),
            "atlas_build_vs_bare_scan": round(total / t_bare, 2),
            "met": bool(t_bare / t_scan >= 0.85 and t_rest / total < 0.25),
        }
    )


if __name__ == "__main__":
    main()
