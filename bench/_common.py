"""Helpers shared by the benchmarks: timing side by side and the closing JSON line."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any


def best_time(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> float:
    """Best CPU time of this process over ``repeats`` calls after ``warmup`` (seconds).

    CPU time, not wall time: on a shared machine other jobs stretch wall time by
    several times, while the work this process does stays put (run with one torch
    thread so that CPU time is the work of one core).
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def ratio(value: float, target: float, higher_is_better: bool = True, **extra: Any) -> dict:
    """One entry of the closing JSON: the measured ratio, its target and whether it is met."""
    met = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    return {"ratio": round(value, 3), "target": f"{sign} {target}", "met": bool(met), **extra}


def report(entries: dict[str, Any]) -> None:
    """Print the closing line: one JSON object (the last line of every benchmark)."""
    print(json.dumps(entries, sort_keys=False))


# ---- devices (make gpu-check) --------------------------------------------------------

# Targets on a GPU (issue 18), stated in each bench's JSON when it runs with --device cuda;
# on the CPU the benches keep their own targets.
GPU_TARGETS = {
    "scan_three_analyzers_vs_bare": 0.95,
    "batched_maximization_64_vs_one_at_a_time": 8.0,
    "batched_projection_vs_captum_per_unit": 20.0,
    "occlusion_full_sweep_vs_bare": 0.95,
}


def add_device_args(parser: Any) -> None:
    """``--device`` (where the model runs) and ``--quick`` (tiny sizes: a dry run)."""
    names = {a.dest for a in parser._actions}
    if "device" not in names:
        parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    if "quick" not in names:
        parser.add_argument(
            "--quick", action="store_true", help="tiny sizes: checks that the bench runs"
        )


def parse(parser: Any, quick: dict[str, Any] | None = None) -> Any:
    """Parse the arguments; with ``--quick``, replace the sizes by ``quick``'s."""
    add_device_args(parser)
    args = parser.parse_args()
    if args.quick:
        for key, value in (quick or {}).items():
            setattr(args, key, value)
    return args


def synchronize(device: Any) -> None:
    """Wait for queued work on ``device`` (a no-op on the CPU)."""
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)


def device_time(fn: Callable[[], Any], device: Any, repeats: int = 3, warmup: int = 1) -> float:
    """:func:`best_time` on the CPU; on a GPU the best wall time, synchronized before and
    after each call (CPU time does not see the device's work)."""
    if not str(device).startswith("cuda"):
        return best_time(fn, repeats=repeats, warmup=warmup)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)


def device_ratio(
    value: float, cpu_target: float, device: Any, gpu_key: str | None = None, **extra: Any
) -> dict:
    """:func:`ratio` against the CPU target, or on CUDA against ``GPU_TARGETS[gpu_key]``."""
    on_gpu = str(device).startswith("cuda")
    target = GPU_TARGETS[gpu_key] if on_gpu and gpu_key is not None else cpu_target
    return ratio(value, target, device=str(device), **extra)


def device_note(device: Any, why: str) -> dict:
    """JSON entries for a bench whose measured work stays on the CPU whatever ``--device``
    says (``why``: the reason, stated when a GPU was asked for)."""
    out: dict[str, Any] = {"device": "cpu"}
    if not str(device).startswith("cpu"):
        out["device_note"] = f"runs on the CPU with --device {device}: {why}"
    return out
