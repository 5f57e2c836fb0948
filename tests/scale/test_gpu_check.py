"""``make gpu-check DEVICE=cpu``: the GPU check's dry run works here (slow: runs every bench
in its quick mode). On a GPU the same target runs the CUDA tests and the full benches."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_gpu_check_dry_run_prints_one_json_line_per_bench():
    venv = Path(sys.prefix)  # the running venv (sys.executable may link to the base Python)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        ["make", "-s", "gpu-check-run", "DEVICE=cpu", f"VENV={venv}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    ran = [line.split()[1] for line in lines if line.startswith("== ") and line.endswith("--quick")]
    results = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(ran) >= 8 and len(results) == len(ran), run.stdout[-3000:]
    assert all("--device cpu" in line for line in lines if line.startswith("== bench/s"))
    # the benches with GPU targets say which target they were held to
    scan = next(r for b, r in zip(ran, results, strict=True) if b.endswith("scan_overhead.py"))
    assert scan["scan_vs_bare_throughput"]["device"] == "cpu"
    assert scan["scan_vs_bare_throughput"]["target"] == ">= 0.9"
