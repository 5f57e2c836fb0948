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
from typing import Any

import skimage.data
import torch
import torchvision
from captum.attr import Occlusion

from interpret.data import IMAGENET, Preprocess
from interpret.occlusion import Occluder
from interpret.occlusion._sweep import Sweep

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
BATCH = 16
BATCHES = (1, 4, 16)
BARE_IMAGES = 16  # bare inference and our full sweep
CAPTUM_DEFAULT_IMAGES = 8  # perturbations_per_eval=1: one image per forward
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

    bare, full, captum = {}, {}, {}
    for batch in BATCHES:  # the same batch sizes for us, bare inference and Captum's ppe
        bare[batch] = bare_per_image(batch)
        full[batch], full_res = full_per_image(batch)
    target = int(full_res.target)
    for batch in BATCHES:
        images = CAPTUM_DEFAULT_IMAGES if batch == 1 else max(batch, BARE_IMAGES)
        captum[batch] = _captum_per_image(model, x, target, batch, images)

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
        "full_sweep_vs_bare": ratio(bare[BATCH], full[BATCH], 0.9),
        "incremental_vs_bare": ratio(bare[BATCH], inc_time, 3.0),
        **{f"full_sweep_vs_bare_batch{k}": ratio(bare[k], full[k], 0.9) for k in BATCHES},
        "full_sweep_vs_captum_default": ratio(captum[1], full[BATCH], 1.0),
        **{f"full_sweep_vs_captum_same_batch{k}": ratio(captum[k], full[k], 1.0) for k in BATCHES},
        "full_sweep_best_vs_captum_best": ratio(captum[best_ppe], full[best_batch], 1.0),
        "incremental_vs_captum_best": ratio(captum[best_ppe], inc_time, 3.0),
        "incremental_max_rel_diff": {"value": rel, "target": "<= 1e-4", "met": rel <= 1e-4},
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
            "device": "cpu",
            "threads": THREADS,
            "batches": list(BATCHES),
            "bare_and_full_images": BARE_IMAGES,
            "incremental_positions": INCREMENTAL_POSITIONS,
            "captum_images_ppe1": CAPTUM_DEFAULT_IMAGES,
            "incremental_layers": list(inc_res.incremental_sites),
            "clock": "process CPU time (1 thread; the machine is shared)",
            "note": "seconds per occluded image on a subset of the positions; the full sweep "
            "computes (b), (d), (e) per position; Captum only the target's output",
        },
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
