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
