"""Activation maximization: units visualized per second, batched vs one unit at a time.

Setup (stated in the JSON): the bundled EfficientNet-Lite0 (real ImageNet weights), 64
channels of ``blocks.2.0.bn1`` (the ReLU6 expansion of stage 3's first block, 144
channels, 1/4 resolution: a small-to-mid layer), 128x128 images, 256 steps of the
"lucid" preset (Fourier + decorrelation + pad/jitter/scale/rotate, Adam).

- batched: all 64 channels in one optimization (``channel(site, range(64))``);
- one at a time: ``--single-units`` channels (default 4), each its own run;
- torch-lucent's ``render_vis`` on the same model, units, size and transforms, one unit
  at a time and as one batch of 64 (if ``lucent`` imports; it is not a dependency).
  Both feed 128x128 images to the model (lucent: ``fixed_image_size=128``; ours:
  ``model_size=128``). Lucent also computes the gradients of the model's weights, which
  it never uses; that is how it runs by default.

The ceiling: the model's own forward to the site and backward to the image (no
parameterization, transforms or optimizer), timed for one image and for the 64 as one
batch (in the same chunks ``maximize`` uses). Its batched / single ratio bounds what any
implementation can reach on the device: when the model's compute per image does not
shrink with the batch (a CPU with few cores), batching only saves the fixed cost per step.

A step costs the same at every step, so by default each run is timed over
``--timed-steps`` steps (step times from the step callback; the first step, which
warms caches, is left out) and the rate for 256 steps is ``units / (256 * step time +
setup)``. ``--full`` runs the whole 256 steps instead.

Run: ``python bench/activation_max.py [--threads N] [--device cpu|cuda] [--full]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections.abc import Callable

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import device_ratio, parse, synchronize  # noqa: E402

from interpret.core import HookSet, StopForward, checked_forward, preserved_state
from interpret.models.efficientnet import efficientnet_lite0
from interpret.neurons.maximization.objectives import channel
from interpret.neurons.maximization.presets import preset
from interpret.neurons.maximization.run import CPU_CHUNK, maximize

SITE = "blocks.2.0.bn1"
DEVICE = ["cpu"]  # set by main(): where the timed steps run
LITE0 = ((0.5,) * 3, (0.5,) * 3)


def timed(run: Callable[[Callable[[int], None]], None], steps: int) -> tuple[float, float]:
    """``(seconds per step, seconds outside the steps)`` of ``run(tick)``; ``tick(step)``
    is called after every step."""
    stamps: list[float] = []
    start = time.perf_counter()

    def tick(step: int) -> None:
        synchronize(DEVICE[0])  # a GPU runs ahead of the host: time finished steps
        stamps.append(time.perf_counter())

    run(tick)
    total = time.perf_counter() - start
    if len(stamps) < 3:
        raise RuntimeError("Time at least 3 steps.")
    per_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return per_step, max(total - per_step * len(stamps), 0.0)


def rate(units: int, per_step: float, overhead: float, steps: int) -> float:
    return units / (steps * per_step + overhead)


def ours(
    net, units: list[int], steps: int, device: str, chunk: int | None, resample: str = "each"
) -> tuple[float, float]:
    # 128x128 to the model, as lucent
    config = preset("lucid", size=128, steps=steps, model_size=128, resample=resample)
    objective = channel(SITE, units if len(units) > 1 else units[0])

    def run(tick: Callable[[int], None]) -> None:
        maximize(
            net,
            objective,
            normalize=LITE0,
            config=config,
            device=device,
            chunk_size=chunk,
            callback=lambda step, values: tick(step),
        )

    return timed(run, steps)


def lucent_runs(net, units: list[int], steps: int, device: str) -> tuple[float, float] | None:
    """torch-lucent's render_vis, same units and transforms; None if lucent is missing."""
    try:
        import kornia
        from kornia.geometry import transform as geometry

        # lucent 0.1.8 calls kornia's old top-level names, gone from kornia >= 0.7
        for name in ("get_rotation_matrix2d", "warp_affine"):
            if not hasattr(kornia, name):
                setattr(kornia, name, getattr(geometry, name))
        from lucent.optvis import objectives, param, render, transform
    except ImportError:
        return None
    model = copy.deepcopy(net).to(device).eval()  # render_vis leaves its hooks on the model
    layer = SITE.replace(".", "_")
    objective = sum(objectives.channel(layer, u, batch=i) for i, u in enumerate(units))
    to_lite0 = lambda x: (x - 0.5) / 0.5  # noqa: E731 - lucent's own normalize is ImageNet's

    def run(tick: Callable[[int], None]) -> None:
        stamps = iter(range(steps))

        def optimizer(params):
            opt = torch.optim.Adam(params, lr=0.05)
            step = opt.step

            def stepped(*args, **kwargs):
                out = step(*args, **kwargs)
                tick(next(stamps))
                return out

            opt.step = stepped
            return opt

        render.render_vis(
            model,
            objective,
            param_f=lambda: param.image(128, batch=len(units), decorrelate=True, fft=True),
            optimizer=optimizer,
            transforms=[*transform.standard_transforms, to_lite0],
            thresholds=(steps,),
            preprocess=False,
            show_image=False,
            progress=False,
            fixed_image_size=128,
        )

    return timed(run, steps)


def model_ceiling(net, units: list[int], device: str, chunk: int | None, repeats: int = 5) -> dict:
    """Seconds per step of the bare model (forward to the site, backward to the image) for
    one image and for ``len(units)`` images in chunks of ``chunk``; the best of ``repeats``."""
    module = dict(net.named_modules())[SITE]
    store: dict[str, torch.Tensor] = {}

    def hook(_m, _i, out):
        store["act"] = out
        raise StopForward

    def step(batch: int) -> None:
        x = torch.rand(batch, 3, 128, 128, device=device, requires_grad=True)
        checked_forward(net, x)
        rows = torch.arange(batch, device=device)
        store.pop("act")[rows, rows % 144].mean((1, 2)).sum().backward()

    def best(batch: int) -> float:
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            step(batch)
            if device == "cuda":
                torch.cuda.synchronize()
            runs.append(time.perf_counter() - start)
        return min(runs)

    hooks = HookSet()
    with preserved_state(net):
        try:
            net.eval()
            hooks.add(module.register_forward_hook(hook))
            for p in net.parameters():
                p.requires_grad_(False)
            n, size = len(units), chunk or len(units)
            step(2)  # warm-up
            one = best(1)
            many = best(size) * n / size
        finally:
            hooks.undo()
    return {"single_step_s": one, "batched_step_s": many, "ratio": n * one / many}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--single-units", type=int, default=4)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--timed-steps", type=int, default=4)
    parser.add_argument("--full", action="store_true", help="run all steps instead of timing a few")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-lucent", action="store_true")
    args = parse(parser, quick={"units": 4, "single_units": 1, "timed_steps": 3, "no_lucent": True})
    DEVICE[0] = args.device
    if args.threads:
        torch.set_num_threads(args.threads)
    run_steps = args.steps if args.full else args.timed_steps
    net = efficientnet_lite0(pretrained=True).to(args.device)
    chunk = CPU_CHUNK * torch.get_num_threads() if args.device == "cpu" else None
    units = list(range(args.units))

    # warm-up (allocator, first-call costs, torch.optim's first import for lucent), not timed
    ours(net, units[:2], 3, args.device, chunk)
    warm = torch.zeros(1, requires_grad=True)
    warm.grad = torch.ones(1)
    torch.optim.Adam([warm]).step()
    b_step, b_over = ours(net, units, run_steps, args.device, chunk)
    batched = rate(args.units, b_step, b_over, args.steps)
    print(f"batched: {b_step:.3f} s/step for {args.units} units -> {batched:.4f} units/s")
    singles = [ours(net, [u], run_steps, args.device, chunk) for u in units[: args.single_units]]
    s_step = sum(s for s, _ in singles) / len(singles)
    s_over = sum(o for _, o in singles) / len(singles)
    single = rate(1, s_step, s_over, args.steps)
    print(f"one at a time: {s_step:.3f} s/step per unit -> {single:.4f} units/s")

    ratio = batched / single
    o_step, o_over = ours(net, units, run_steps, args.device, chunk, resample="once")
    once = rate(args.units, o_step, o_over, args.steps)
    print(f"batched, resample='once': {o_step:.3f} s/step -> {once:.4f} units/s")
    ceiling = model_ceiling(net, units, args.device, chunk)
    print(f"model alone: {ceiling}")
    report: dict = {
        "setup": {
            "model": "EfficientNet-Lite0, bundled ImageNet weights",
            "site": SITE,
            "units": args.units,
            "single_units_timed": args.single_units,
            "size": 128,
            "steps": args.steps,
            "timed_steps": run_steps,
            "extrapolated": not args.full,
            "preset": "lucid",
            "device": args.device,
            "threads": torch.get_num_threads(),
            "chunk_size": chunk,
        },
        "batched_units_per_s": round(batched, 5),
        "single_units_per_s": round(single, 5),
        "batched_vs_single": device_ratio(
            ratio, 8.0, args.device, "batched_maximization_64_vs_one_at_a_time"
        ),
        "batched_resample_once_units_per_s": round(once, 5),
        "resample_once_vs_each_batched": {
            "ratio": round(once / batched, 2),
            "target": "(reported: one bilinear sample for the transform chain)",
            "met": None,
        },
        "model_alone_batched_vs_single": {
            "ratio": round(ceiling["ratio"], 2),
            "target": "(the ceiling on this device: bare forward + backward, no optimizer)",
            "met": None,
            "single_step_s": round(ceiling["single_step_s"], 5),
            "batched_step_s": round(ceiling["batched_step_s"], 5),
        },
        "share_of_ceiling": {
            "ratio": round(ratio / ceiling["ratio"], 3),
            "target": "(ours batched_vs_single / the ceiling)",
            "met": None,
        },
    }
    lucent_single = None if args.no_lucent else lucent_runs(net, [0], run_steps, args.device)
    if lucent_single is None:
        report["lucent"] = {
            "installed": False,
            "note": "torch-lucent not importable (not a dependency); skipped",
        }
    else:
        import importlib.metadata

        l_single = rate(1, *lucent_single, args.steps)
        l_batch_step, l_batch_over = lucent_runs(net, units, run_steps, args.device)
        l_batched = rate(args.units, l_batch_step, l_batch_over, args.steps)
        print(
            f"lucent one at a time: {l_single:.4f} units/s, as one batch: {l_batched:.4f} units/s"
        )
        r1, r2, r3 = batched / l_single, single / l_single, batched / l_batched
        report["lucent"] = {
            "installed": True,
            "version": importlib.metadata.version("torch-lucent"),
            "single_units_per_s": round(l_single, 5),
            "batched_units_per_s": round(l_batched, 5),
        }
        report["ours_batched_vs_lucent_single"] = {
            "ratio": round(r1, 2),
            "target": ">= 8",
            "met": r1 >= 8,
        }
        report["ours_single_vs_lucent_single"] = {
            "ratio": round(r2, 2),
            "target": ">= 1",
            "met": r2 >= 1,
        }
        report["ours_batched_vs_lucent_batched"] = {
            "ratio": round(r3, 2),
            "target": ">= 1",
            "met": r3 >= 1,
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
