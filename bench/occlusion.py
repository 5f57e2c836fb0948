"""Occlusion sweep speed: Captum ``Occlusion``, our full sweep, our incremental mode and
bare batched inference, on one model, image and set of windows.

VGG16 (torchvision, ``weights=None``: random init is enough for timing), 224x224
(``skimage.data.chelsea()``), a 16x16 gray occluder at stride 8: 27 x 27 = 729 positions.
A whole sweep of VGG16 takes many minutes on this CPU, so every method is timed on a
subset of the positions (evenly spread over the grid) and compared per occluded image;
the incremental mode's hand-off layer is chosen from all 729 positions, as in a real sweep.
Captum is timed on its first evaluations (its forward function stops it after a set
number of images).

Then (issue 19), each against bare batched inference of the same model at the same size:
the exact incremental mode on VGG16, ResNet-18 (224 px), Inception-v3 (299 px, its own
size) and DenseNet-121 (224 px), at stride 8 and Krypton's stride 4, timed on a few
positions spread over the grid (the hand-off chosen from all of them), each beside its
``mac_bound``: the multiply-accumulates of a full forward over those left when every
convolution computes only its changed region, the most an exact method gains by
arithmetic. Then the approximate mode (projective-field threshold ``tau``, drill-down) on
VGG16 and ResNet-18 over the whole stride-8 grid, with the SSIM of its target-probability
map against the exact map (``skimage.metrics.structural_similarity`` on the exact map's
own span, the strict choice: the figure stretches its colours to that span). Random-init
weights (no downloads here) time the same as trained ones, but an untrained model's map
is close to noise, one position a window away nearly independent of the next, so what
drill-down interpolates is not there; ``approximate_trained_lite0_ssim`` therefore also
measures the SSIM on the bundled EfficientNet-Lite0 (real ImageNet weights) over photos.

Every time is the least of ``REPEATS`` interleaved rounds.

Run: ``python bench/occlusion.py [--device cpu|cuda]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from typing import Any

import skimage.data
import torch
import torchvision
from captum.attr import Occlusion
from torch import Tensor, nn

from interpret.data import IMAGENET, Preprocess
from interpret.occlusion import Occluder
from interpret.occlusion._graph import GraphPlan
from interpret.occlusion._sweep import Sweep

DEVICE = torch.device("cpu")

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
BATCH = 16
BATCHES = (1, 4, 16)
BARE_IMAGES = 16  # bare inference and our full sweep
CAPTUM_DEFAULT_IMAGES = 8  # perturbations_per_eval=1: one image per forward
INCREMENTAL_POSITIONS = 64
REPEATS = 3  # every time is the least of this many interleaved rounds (the box is shared)


class _Stop(Exception):
    pass


def _clock() -> float:
    """CPU seconds of this process: with one thread, the compute itself, unaffected by the
    other jobs sharing this machine's two cores (wall-clock times vary several-fold here).
    On CUDA: wall seconds after synchronizing the device."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)
        return time.perf_counter()
    return time.process_time()


def _captum_per_image(
    model: torch.nn.Module, x: torch.Tensor, target: int, ppe: int, images: int
) -> float:
    """Seconds per occluded image of Captum's Occlusion over its first ``images`` images."""
    seen = {"n": 0, "t0": 0.0}

    def forward(batch: torch.Tensor) -> torch.Tensor:
        if seen["n"] == 0 and len(batch) == 1 and seen["t0"] == 0.0:  # the clean pass
            out = model(batch)
            seen["t0"] = _clock()
            return out
        out = model(batch)
        seen["n"] += len(batch)
        if seen["n"] >= images:
            raise _Stop
        return out

    with torch.inference_mode(), contextlib.suppress(_Stop):
        Occlusion(forward).attribute(
            x, sliding_window_shapes=(3, 16, 16), strides=(3, 8, 8), baselines=0.0,
            target=target, perturbations_per_eval=ppe,
        )  # fmt: skip
    return (_clock() - seen["t0"]) / seen["n"]


def _model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    extra = {"aux_logits": False, "init_weights": False} if name == "inception_v3" else {}
    return getattr(torchvision.models, name)(weights=None, **extra).eval().to(DEVICE)


def _image(size: int) -> torch.Tensor:
    pre = Preprocess(mean=IMAGENET.mean, std=IMAGENET.std, size=size)
    return pre(skimage.data.chelsea())[None].to(DEVICE)


def _bare(model: torch.nn.Module, x: torch.Tensor, images: int) -> float:
    """Seconds per image of plain batched inference (batch BATCH)."""
    batch = x.expand(BATCH, -1, -1, -1).clone()
    with torch.inference_mode():
        model(batch[:2])
        t = _clock()
        for _ in range(max(1, images // BATCH)):
            model(batch)
        return (_clock() - t) / (max(1, images // BATCH) * BATCH)


EXACT = {"vgg16": (224, 7.0), "resnet18": (224, 3.0), "inception_v3": (299, 2.0),
         "densenet121": (224, 1.5)}  # fmt: skip
EXACT_POSITIONS = 16
APPROX_TARGET = {"vgg16": 20.0, "resnet18": 9.0}
TRIES = {  # (tau, drill_down): tau alone, then with Krypton's drill-down
    "vgg16": ((0.5, None), (0.5, 0.25)),
    "resnet18": ((0.75, None), (1.0, 0.25)),
}
REFEREE_TRIES = ((0.75, None), (0.5, None), (1.0, 0.25), (1.0, 0.5))
REFEREE_PHOTOS = ("coffee", "rocket", "chelsea", "motorcycle_left")


def exact_incremental() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (size, target) in EXACT.items():
        model, x = _model(name), _image(size)
        for stride in (8, 4):
            occ = Occluder(16, stride, fill=0.0)
            total = len(occ.boxes(size, size))
            spread = torch.linspace(0, total - 1, EXACT_POSITIONS).round().long()
            sweep = Sweep(model, x, occ, batch_size=BATCH, incremental=True)
            bare, seconds = float("inf"), float("inf")
            for _ in range(REPEATS):  # bare and incremental in turn
                bare = min(bare, _bare(model, x, BATCH))  # outside the session: its layer
                with sweep.session():  # stubs would answer for the model
                    sweep.run(spread[:2])  # warm-up
                    t = _clock()
                    sweep.run(spread)
                    seconds = min(seconds, (_clock() - t) / len(spread))
            out[f"exact_{name}_stride{stride}_vs_bare"] = {
                **_ratio(bare, seconds, target),
                "image": size,
                "plan": "chain" if type(sweep.plan).__name__ == "IncrementalPlan" else "graph",
                "layers": len(sweep.incremental_sites),
                "mac_bound": round(_mac_bound(model, x, occ), 2),
            }
    return out


def _mac_bound(model: nn.Module, x: Tensor, occ: Occluder) -> float:
    """Multiply-accumulates of a full forward (convolutions and linear layers) over those
    left when every convolution computes only the changed region of an occluder at the
    middle of the image: the most exact incremental inference gains by arithmetic alone."""
    from interpret.occlusion._local import WindowOp, box_of
    from interpret.occlusion._trace import trace_calls

    with torch.inference_mode():
        plan = GraphPlan(model, trace_calls(model, x[:1], log_ops=True), None)
        plan.prepare(x[:1])
    boxes = occ.boxes(*x.shape[-2:])
    plan.choose(boxes, 1.0)
    regions = {plan.source: boxes[len(boxes) // 2 :][:1]}
    full = local = 0
    for node in plan.nodes:
        made = plan.local.get(node)
        if made is not None and node in plan.active:
            deps = [n for n in made.inputs if n in plan.dependent]
            regions[node] = plan._region(made, [regions[n] for n in deps])
        module = plan.modules.get(str(node.target)) if node.op == "call_module" else None
        if isinstance(module, nn.Linear):
            full += module.in_features * module.out_features
            local += module.in_features * module.out_features
        elif isinstance(module, nn.Conv2d) and made is not None:
            k = module.kernel_size[0] * module.kernel_size[1]
            per = module.out_channels * module.in_channels // module.groups * k
            full += per * made.out_hw[0] * made.out_hw[1]
            if node in plan.active and isinstance(made.op, WindowOp):
                _, h, w = box_of(regions[node], made.out_hw)
                local += per * h * w
            else:
                local += per * made.out_hw[0] * made.out_hw[1]
    return full / local


def _ssim(got: Tensor, want: Tensor) -> float:
    """SSIM of two maps on the exact map's own span (how the figure's panel (d) is drawn:
    colours stretched to the map's range), the strict choice."""
    from skimage.metrics import structural_similarity

    span = float(want.max() - want.min()) or 1.0
    return float(structural_similarity(got.double().numpy(), want.double().numpy(),
                                       data_range=span))  # fmt: skip


def _approx_rows(model: nn.Module, x: Tensor, occ: Occluder, exact: Tensor, bare: float,
                 tries: Any) -> list[dict[str, Any]]:  # fmt: skip
    rows = []
    for tau, drill in tries:
        approx = Sweep(model, x, occ, batch_size=BATCH, approximate=tau, drill_down=drill,
                       approximate_checks=0)  # fmt: skip
        with approx.session():
            t = _clock()
            approx.run()
            seconds = (_clock() - t) / (len(approx.boxes) * len(x))
        got = approx.result().target_prob
        ssims = [_ssim(g, w) for g, w in zip(got, exact)]
        rows.append({"tau": tau, "drill_down": drill, "ratio": round(bare / seconds, 3),
                     "ssim": round(sum(ssims) / len(ssims), 4),
                     "ssim_worst": round(min(ssims), 4)})  # fmt: skip
    return rows


def approximate() -> dict[str, Any]:
    """The approximate mode on random-init VGG16 and ResNet-18 (speed does not depend on
    the weights; SSIM there is against an untrained model's map, whose positions a window
    apart are nearly independent), and on the bundled EfficientNet-Lite0 (real weights)
    over photos, the SSIM a trained model's maps keep."""
    out: dict[str, Any] = {}
    occ = Occluder(16, 8, fill=0.0)
    for name, target in APPROX_TARGET.items():
        model, x = _model(name), _image(224)
        bare = min(_bare(model, x, BATCH) for _ in range(REPEATS))
        sweep = Sweep(model, x, occ, batch_size=BATCH, incremental=True)
        with sweep.session():
            t = _clock()
            sweep.run()
            exact_time = (_clock() - t) / len(sweep.boxes)
        rows = _approx_rows(model, x, occ, sweep.result().target_prob, bare, TRIES[name])
        good = [r for r in rows if r["ssim"] >= 0.9]
        best = max(good, key=lambda r: r["ratio"]) if good else max(rows, key=lambda r: r["ssim"])
        out[f"approximate_{name}_vs_bare"] = {
            **_ratio(bare, bare / best["ratio"], target),
            "met": bool(best["ratio"] >= target and best["ssim"] >= 0.9),
            "ssim": best["ssim"], "ssim_target": ">= 0.9", "tau": best["tau"],
            "drill_down": best["drill_down"],
            "exact_whole_grid_vs_bare": round(bare / exact_time, 3), "tried": rows,
        }  # fmt: skip
    out["approximate_trained_lite0_ssim"] = _trained_referee()
    return out


def _trained_referee() -> dict[str, Any]:
    """SSIM of approximate maps against exact ones on the bundled Lite0 (224 px) over
    photos, and the speed against bare inference there."""
    from interpret.data import sample_photos
    from interpret.models.efficientnet import efficientnet_lite0

    model = efficientnet_lite0().eval().to(DEVICE)
    pre = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=224)
    x = torch.stack([pre(im) for _, im in sample_photos(REFEREE_PHOTOS)]).to(DEVICE)
    occ = Occluder(16, 8, fill=0.0)
    bare = min(_bare(model, x[:1], BATCH) for _ in range(REPEATS))
    sweep = Sweep(model, x, occ, batch_size=BATCH, incremental=True)
    with sweep.session():
        t = _clock()
        sweep.run()
        exact_time = (_clock() - t) / (len(sweep.boxes) * len(x))
    rows = _approx_rows(model, x, occ, sweep.result().target_prob, bare, REFEREE_TRIES)
    return {"photos": list(REFEREE_PHOTOS), "exact_vs_bare": round(bare / exact_time, 3),
            "tried": rows}  # fmt: skip


def _ratio(slow: float, fast: float, target: float) -> dict:
    value = slow / fast
    return {"ratio": round(value, 3), "target": f">= {target}", "met": bool(value >= target)}


def main() -> None:
    global DEVICE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--quick", action="store_true", help="only the full-sweep part")
    args = parser.parse_args()
    DEVICE = torch.device(args.device)
    if DEVICE.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    torch.set_num_threads(THREADS)
    started = time.perf_counter()
    torch.manual_seed(0)
    model = torchvision.models.vgg16(weights=None).eval().to(DEVICE)
    x = _image(224)
    occ = Occluder(16, 8, fill=0.0)
    total = len(occ.boxes(224, 224))
    spread = torch.linspace(0, total - 1, INCREMENTAL_POSITIONS).round().long()
    subset = spread[:: INCREMENTAL_POSITIONS // BARE_IMAGES][:BARE_IMAGES]

    with torch.inference_mode():  # warm-up
        model(x.expand(2, -1, -1, -1).clone())

    def bare_per_image(batch: int) -> float:
        """Plain ``model(batch)`` over BARE_IMAGES images of the same size."""
        images = x.expand(batch, -1, -1, -1).clone()
        with torch.inference_mode():
            t = _clock()
            for _ in range(BARE_IMAGES // batch):
                model(images)
            return (_clock() - t) / BARE_IMAGES

    def full_per_image(batch: int) -> tuple[float, Any]:
        sweep = Sweep(model, x, occ, keep_logits=True, batch_size=batch)
        with sweep.session():
            t = _clock()
            sweep.run(subset)
            seconds = (_clock() - t) / len(subset)
        return seconds, sweep.result()

    bare: dict[int, float] = dict.fromkeys(BATCHES, float("inf"))
    full, captum = dict(bare), dict(bare)
    extra = {} if args.quick else {**exact_incremental(), **approximate()}
    target = None
    for _ in range(REPEATS):  # rounds: bare, ours and Captum in turn at each batch size
        for batch in BATCHES:  # the same batch sizes for us, bare inference and Captum's ppe
            bare[batch] = min(bare[batch], bare_per_image(batch))
            seconds, full_res = full_per_image(batch)
            full[batch] = min(full[batch], seconds)
            target = int(full_res.target)
            images = CAPTUM_DEFAULT_IMAGES if batch == 1 else max(batch, BARE_IMAGES)
            captum[batch] = min(captum[batch], _captum_per_image(model, x, target, batch, images))

    inc = Sweep(model, x, occ, keep_logits=True, batch_size=BATCH, incremental=True)
    with inc.session():
        t = _clock()
        inc.run(spread)
        inc_time = (_clock() - t) / len(spread)
    inc_res = inc.result()
    a = inc_res.logits.view(-1, 1000)[subset].double()
    b = full_res.logits.view(-1, 1000)[subset].double()
    rel = float((a - b).abs().max() / b.abs().max())

    def ratio(slow: float, fast: float, target: float) -> dict:
        value = slow / fast
        return {"ratio": round(value, 3), "target": f">= {target}", "met": value >= target}

    best_ppe = min(captum, key=captum.get)
    best_batch = min(full, key=full.get)
    report: dict[str, Any] = {
        "full_sweep_vs_bare": ratio(bare[BATCH], full[BATCH], 0.95),
        "incremental_vs_bare": ratio(bare[BATCH], inc_time, 3.0),
        **{f"full_sweep_vs_bare_batch{k}": ratio(bare[k], full[k], 0.95) for k in BATCHES},
        "full_sweep_vs_captum_default": ratio(captum[1], full[BATCH], 1.0),
        **{f"full_sweep_vs_captum_same_batch{k}": ratio(captum[k], full[k], 1.0) for k in BATCHES},
        "full_sweep_best_vs_captum_best": ratio(captum[best_ppe], full[best_batch], 1.0),
        "incremental_vs_captum_best": ratio(captum[best_ppe], inc_time, 3.0),
        "incremental_max_rel_diff": {"value": rel, "target": "<= 1e-4", "met": rel <= 1e-4},
        **extra,
        "seconds_per_image": {
            **{f"bare_batch{k}": round(v, 4) for k, v in bare.items()},
            **{f"full_sweep_batch{k}": round(v, 4) for k, v in full.items()},
            **{f"captum_ppe{k}": round(v, 4) for k, v in captum.items()},
            f"incremental_batch{BATCH}": round(inc_time, 4),
        },
        "setup": {
            "model": "torchvision vgg16, weights=None (random init, timing only)",
            "image": "skimage chelsea, 224x224",
            "occluder": "16x16 gray, stride 8",
            "positions_total": total,
            "device": str(DEVICE),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "sizes": "VGG16/ResNet-18/DenseNet-121 224 px, Inception-v3 299 px; one image "
            f"(chelsea); exact ratios on {EXACT_POSITIONS} spread positions, approximate on "
            "the whole 27x27 stride-8 grid",
            "threads": THREADS,
            "batches": list(BATCHES),
            "bare_and_full_images": BARE_IMAGES,
            "incremental_positions": INCREMENTAL_POSITIONS,
            "captum_images_ppe1": CAPTUM_DEFAULT_IMAGES,
            "incremental_layers": list(inc_res.incremental_sites),
            "clock": f"process CPU time (1 thread; the machine is shared), least of {REPEATS} "
            "interleaved rounds",
            "note": "seconds per occluded image on a subset of the positions; the full sweep "
            "computes (b), (d), (e) per position; Captum only the target's output",
        },
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
