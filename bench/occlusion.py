"""Occlusion sweep speed: Captum ``Occlusion``, our full sweep, our incremental mode and
bare batched inference, on one model, image and set of windows.

VGG16 (torchvision, ``weights=None``: random init is enough for timing), 224x224
(``skimage.data.chelsea()``), a 16x16 gray occluder at stride 8: 27 x 27 = 729 positions.
A whole sweep of VGG16 takes many minutes on this CPU, so every method is timed on a
subset of the positions (evenly spread over the grid) and compared per occluded image;
the incremental mode's hand-off layer is chosen from all 729 positions, as in a real sweep.
Captum is timed on its first evaluations (its forward function stops it after a set
number of images). Run: ``python bench/occlusion.py``; the last line is JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

import skimage.data
import torch
import torchvision
from captum.attr import Occlusion

from interpret.data import IMAGENET, Preprocess
from interpret.occlusion import Occluder
from interpret.occlusion._sweep import Sweep

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
BATCH = 16
BARE_IMAGES = 16  # bare inference and our full sweep
CAPTUM_DEFAULT_IMAGES = 6  # perturbations_per_eval=1: one image per forward
CAPTUM_PPE = (4, 16)
INCREMENTAL_POSITIONS = 64


class _Stop(Exception):
    pass


def _clock() -> float:
    """CPU seconds of this process: with one thread, the compute itself, unaffected by the
    other jobs sharing this machine's two cores (wall-clock times vary several-fold here)."""
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


def main() -> None:
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    model = torchvision.models.vgg16(weights=None).eval()
    pre = Preprocess(mean=IMAGENET.mean, std=IMAGENET.std, size=224)
    x = pre(skimage.data.chelsea())[None]
    occ = Occluder(16, 8, fill=0.0)
    total = len(occ.boxes(224, 224))
    spread = torch.linspace(0, total - 1, INCREMENTAL_POSITIONS).round().long()
    subset = spread[:: INCREMENTAL_POSITIONS // BARE_IMAGES][:BARE_IMAGES]

    with torch.inference_mode():  # warm-up, and the bare batch of the same images
        model(x.expand(2, -1, -1, -1).clone())
        bare_batch = x.expand(BATCH, -1, -1, -1).clone()
        t = _clock()
        for _ in range(BARE_IMAGES // BATCH):
            model(bare_batch)
        bare = (_clock() - t) / BARE_IMAGES

    full = Sweep(model, x, occ, keep_logits=True, batch_size=BATCH)
    with full.session():
        t = _clock()
        full.run(subset)
        full_time = (_clock() - t) / len(subset)
    full_res = full.result()

    inc = Sweep(model, x, occ, keep_logits=True, batch_size=BATCH, incremental=True)
    with inc.session():
        t = _clock()
        inc.run(spread)
        inc_time = (_clock() - t) / len(spread)
    inc_res = inc.result()
    a = inc_res.logits.view(-1, 1000)[subset].double()
    b = full_res.logits.view(-1, 1000)[subset].double()
    rel = float((a - b).abs().max() / b.abs().max())

    target = int(full_res.target)
    captum_default = _captum_per_image(model, x, target, 1, CAPTUM_DEFAULT_IMAGES)
    captum_ppe = {p: _captum_per_image(model, x, target, p, max(p, BATCH)) for p in CAPTUM_PPE}
    best_ppe = min(captum_ppe, key=captum_ppe.get)
    captum_best = captum_ppe[best_ppe]

    def ratio(slow: float, fast: float, target: float) -> dict:
        value = slow / fast
        return {"ratio": round(value, 3), "target": f">= {target}", "met": value >= target}

    layers = ", ".join(inc_res.incremental_sites)
    print(f"per image: bare {bare:.3f}s, full sweep {full_time:.3f}s, incremental "
          f"{inc_time:.3f}s, captum ppe=1 {captum_default:.3f}s, captum ppe={best_ppe} "
          f"{captum_best:.3f}s; incremental layers: {layers}")  # fmt: skip
    report = {
        "full_sweep_vs_bare": ratio(bare, full_time, 0.9),
        "incremental_vs_bare": ratio(bare, inc_time, 3.0),
        "full_sweep_vs_captum_default": ratio(captum_default, full_time, 1.0),
        "full_sweep_vs_captum_best": ratio(captum_best, full_time, 1.0),
        "incremental_vs_captum_best": ratio(captum_best, inc_time, 1.0),
        "incremental_max_rel_diff": {"value": rel, "target": "<= 1e-4", "met": rel <= 1e-4},
        "seconds_per_image": {
            "bare": round(bare, 4),
            "full_sweep": round(full_time, 4),
            "incremental": round(inc_time, 4),
            "captum_ppe1": round(captum_default, 4),
            f"captum_ppe{best_ppe}": round(captum_best, 4),
        },  # fmt: skip
        "setup": {
            "model": "torchvision vgg16, weights=None (random init, timing only)",
            "image": "skimage chelsea, 224x224",
            "occluder": "16x16 gray, stride 8",
            "positions_total": total,
            "device": "cpu",
            "threads": THREADS,
            "batch": BATCH,
            "bare_and_full_images": BARE_IMAGES,
            "incremental_positions": INCREMENTAL_POSITIONS,
            "captum_images": {
                "ppe1": CAPTUM_DEFAULT_IMAGES,
                **{f"ppe{p}": max(p, BATCH) for p in CAPTUM_PPE},
            },
            "incremental_layers": len(inc_res.incremental_sites),
            "clock": "process CPU time (1 thread; the machine is shared)",
            "note": "times per occluded image on a subset of positions; the full sweep "
            "computes (b), (d), (e) per position",
        },  # fmt: skip
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
