"""Deconvnet benchmark: top-9 over a few thousand images, and batched projection vs Captum.

Model: a digits-sized ZFNet (``zfnet(width=0.25, input_size=64, in_channels=1,
padding="small")``: conv 24-64-96-96-64, LRN, overlapping 3x3/2 pools). Data: 3594 images
(scikit-learn's digits at 64x64 and their mirror images). Sites: the five conv stages
(after each ReLU: ``features.1, .5, .9, .11, .13``).

1. Scan: ``TopActivations(site, k=9)`` on the five sites in one ``scan``, against bare
   batched inference on the same data and batch size. Target: at least 0.85x.
2. Batched projection: the strongest activation of every channel of every site for a
   batch of 32 images (``project(model, images, site)``, 11008 units, reverse walk) against
   Captum's ``NeuronDeconvolution`` one neuron at a time (timed on a sample of the same
   units, checked to agree), summed over the sites. Target: at least 10x faster per unit.
3. Reported without a target: the top-9 projections of the scan (``project_top`` on all
   five sites, 3096 units) per unit against Captum. Each top-9 unit is in its own image,
   so here the forward pass cannot be shared between units as in (2).

Timings are the best of a few repeats, the two sides of each comparison alternating, in
one process and one thread by default. The ratios use CPU time (``--clock wall`` for wall
time; both are printed): on a machine shared with other jobs CPU time is what stays
comparable between the two sides.

    python bench/deconvnet.py [--images 3594] [--captum-units 12] [--threads 1] [--clock cpu]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(__file__))
from _common import device_ratio, parse, report, synchronize  # noqa: E402

from interpret import scan  # noqa: E402
from interpret.core.receptive import chain_layers  # noqa: E402
from interpret.data import Digits  # noqa: E402
from interpret.deconvnet import TopActivations, project, project_top  # noqa: E402
from interpret.models.zfnet import zfnet  # noqa: E402

SITES = ("features.1", "features.5", "features.9", "features.11", "features.13")


def digits(n: int) -> TensorDataset:
    base = Digits(size=64).images  # (1797, 1, 64, 64), normalized
    images = torch.cat([base, base.flip(-1)])[:n]
    return TensorDataset(images, torch.zeros(len(images), dtype=torch.long))


def model_for_bench() -> nn.Module:
    model = zfnet(num_classes=10, width=0.25, input_size=64, in_channels=1, fc_features=128,
                  padding="small")  # fmt: skip
    chain_layers(model, SITES[-1])  # a chain: the reverse walk applies
    return model


DEVICE = ["cpu"]  # set by main()


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call (on a GPU, until its work is done)."""
    synchronize(DEVICE[0])
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    synchronize(DEVICE[0])
    return time.perf_counter() - wall, time.process_time() - cpu


class Best:
    """Best (wall, CPU) time per key, per unit of work."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def add(self, key: str, times: tuple[float, float], per: int = 1) -> None:
        old = self.times.get(key, [float("inf"), float("inf")])
        self.times[key] = [min(o, t / per) for o, t in zip(old, times, strict=True)]

    def get(self, key: str, clock: int) -> float:
        return self.times[key][clock]


def captum_timer(model, images, site, rows, reference):
    """Time Captum on ``rows`` (image, channel, y, x); check it against ``reference(i)``."""
    from captum.attr import NeuronDeconvolution

    deconv = NeuronDeconvolution(model, dict(model.named_modules())[site])
    worst = [0.0]

    def run() -> None:
        for i, (image, channel, y, x) in enumerate(rows):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                selector = (channel, y, x)
                one = images[image : image + 1].to(DEVICE[0])
                theirs = deconv.attribute(one, neuron_selector=selector).cpu()
            ours = reference(i)
            err = float((ours - theirs[0]).abs().max() / theirs.abs().max().clamp_min(1e-12))
            worst[0] = max(worst[0], err)

    return run, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3594)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batch-images", type=int, default=32)
    parser.add_argument("--captum-units", type=int, default=12, help="per site")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default)")
    args = parse(parser, quick={"images": 64, "batch_images": 4, "captum_units": 2, "repeats": 1})
    DEVICE[0] = args.device
    if args.device != "cpu":
        args.clock = "wall"  # CPU time does not see a GPU's work
    if args.threads:
        torch.set_num_threads(args.threads)
    clock = 1 if args.clock == "cpu" else 0
    model = model_for_bench().to(args.device)
    pin = args.device.startswith("cuda")
    data = digits(args.images)
    images = data.tensors[0]
    best = Best()

    # 1. scan vs bare inference
    def bare() -> None:
        with torch.inference_mode():
            for x, _ in DataLoader(data, batch_size=args.batch_size, pin_memory=pin):
                model(x.to(args.device, non_blocking=True))

    def scanned() -> list:
        analyzers = [TopActivations(site, k=9) for site in SITES]
        return scan(model, data, analyzers, batch_size=args.batch_size, progress=False)

    bare()  # warm-up
    for _ in range(args.repeats):
        best.add("bare", timed(bare))
        best.add("scan", timed(scanned))
    tops = scanned()

    # 2. batched projection (all channels of a batch of images) vs Captum one at a time
    gen = torch.Generator().manual_seed(0)
    batch = images[: args.batch_images]
    totals = {"ours": 0.0, "captum": 0.0, "units": 0}
    worst_batched = 0.0
    for site in SITES:
        result = project(model, batch, site)
        n = len(result.image)
        pick = torch.randperm(n, generator=gen)[: args.captum_units].tolist()
        rows = [(int(result.image[i]), int(result.channel[i]), int(result.y[i]),
                 int(result.x[i])) for i in pick]  # fmt: skip

        def reference(i: int, result=result, pick=pick) -> torch.Tensor:
            return result.projections[pick[i]] / result.activation[pick[i]]

        run, worst = captum_timer(model, batch, site, rows, reference)
        for _ in range(max(2, args.repeats - 1)):
            best.add(f"ours {site}", timed(lambda site=site: project(model, batch, site)), n)
            best.add(f"captum {site}", timed(run), len(rows))
        totals["ours"] += best.get(f"ours {site}", clock) * n
        totals["captum"] += best.get(f"captum {site}", clock) * n
        totals["units"] += n
        worst_batched = max(worst_batched, worst[0])

    # 3. top-9 projections of the scan vs Captum (reported)
    top_totals = {"ours": 0.0, "captum": 0.0, "units": 0}
    worst_top = 0.0
    for site, top in zip(SITES, tops, strict=True):
        filled = (top.image_index >= 0).nonzero()
        n = len(filled)
        pick = torch.randperm(n, generator=gen)[: args.captum_units // 2]
        slots = filled[pick].tolist()
        rows = [
            (int(top.image_index[c, j]), c, int(top.y[c, j]), int(top.x[c, j])) for c, j in slots
        ]
        full = project(model, images, site, units=rows)

        def reference(i: int, full=full) -> torch.Tensor:
            return full.projections[i] / full.activation[i]

        run, worst = captum_timer(model, images, site, rows, reference)
        for _ in range(2):
            best.add(f"top {site}", timed(lambda top=top: project_top(model, data, top)), n)
            best.add(f"captum top {site}", timed(run), len(rows))
        top_totals["ours"] += best.get(f"top {site}", clock) * n
        top_totals["captum"] += best.get(f"captum top {site}", clock) * n
        top_totals["units"] += n
        worst_top = max(worst_top, worst[0])

    t_bare, t_scan = best.get("bare", clock), best.get("scan", clock)
    per_ours = totals["ours"] / totals["units"]
    per_captum = totals["captum"] / totals["units"]
    top_ours = top_totals["ours"] / top_totals["units"]
    top_captum = top_totals["captum"] / top_totals["units"]
    print(f"{len(data)} images, {torch.get_num_threads()} thread(s), {args.clock} time")
    print(f"bare inference {len(data) / t_bare:.0f} img/s; scan with top-9 on {len(SITES)} "
          f"sites {len(data) / t_scan:.0f} img/s")  # fmt: skip
    for site in SITES:
        ours, theirs = best.get(f"ours {site}", clock), best.get(f"captum {site}", clock)
        top_ours_site = best.get(f"top {site}", clock)
        print(f"  {site:12s} batched {1e3 * ours:6.3f} ms/unit (Captum {1e3 * theirs:6.3f}, "
              f"x{theirs / ours:5.1f}); top-9 {1e3 * top_ours_site:6.3f} ms/unit")  # fmt: skip
    print(f"batched: {totals['units']} units, {1e3 * per_ours:.3f} vs {1e3 * per_captum:.3f} "
          f"ms/unit; worst relative difference {worst_batched:.1e}")  # fmt: skip
    print(f"top-9: {top_totals['units']} units, {1e3 * top_ours:.3f} vs {1e3 * top_captum:.3f} "
          f"ms/unit; worst relative difference {worst_top:.1e}")  # fmt: skip
    report({
        "scan_vs_bare": device_ratio(t_bare / t_scan, 0.85, args.device, None,
                              images=len(data), sites=len(SITES),
                              bare_img_s=round(len(data) / t_bare, 1),
                              scan_img_s=round(len(data) / t_scan, 1)),
        "batched_projection_vs_captum_per_unit": device_ratio(
            per_captum / per_ours, 10.0, args.device, "batched_projection_vs_captum_per_unit",
            units=totals["units"],
            ours_ms=round(1e3 * per_ours, 4), captum_ms=round(1e3 * per_captum, 4),
            max_rel_diff=float(f"{worst_batched:.2e}")),
        "top9_projection_vs_captum_per_unit": {
            "ratio": round(top_captum / top_ours, 3), "target": "none (reported)", "met": True,
            "units": top_totals["units"], "ours_ms": round(1e3 * top_ours, 4),
            "captum_ms": round(1e3 * top_captum, 4), "max_rel_diff": float(f"{worst_top:.2e}")},
        "top9_scan_plus_projections_vs_bare": {
            "ratio": round(t_bare / (t_scan + top_totals["ours"]), 3),
            "target": "none (reported)", "met": True},
        "clock": args.clock,
    })  # fmt: skip


if __name__ == "__main__":
    main()
