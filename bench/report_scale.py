"""The report at scale: the sections that stream, over 1,000 and 10,000 images, side by side.

Writes two labelled folders of 64 px PNG crops of the scikit-image photos (four classes,
random crops, so that no two files are alike), then runs ``interpret report`` on each in a
fresh interpreter (spawned, not forked: its peak memory is its own), with a small
max-pooled CNN given as ``module:factory``. Each child reads its own peak resident set
(``VmHWM``) and CPU time at the end. Targets: peak RSS at 10k within 10% of 1k (memory
does not grow with the data), CPU time per image at 10k within 1.1x of 1k (no step
grows faster than the data). One thread for torch, BLAS and numba; process CPU time,
since wall time on a shared machine is noisy.

``python bench/report_scale.py [--small N] [--large N]``; the last line is the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import device_note, parse, ratio, report  # noqa: E402

SECTIONS = "summary,deconvnet,occlusion,selectivity,embeddings,probes,filters"
ONE_THREAD = {
    name: "1"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
}
"""One thread for every library: BLAS thread pools add per-thread buffers to the peak RSS
only once a matrix is large enough (measured: the probes section alone grew 922 -> 1104 MiB
from 1k to 10k images with the default pools, 966 -> 980 MiB with one thread)."""
MODEL = textwrap.dedent(
    """
    from torch import nn

    def small_cnn(num_classes=4):
        return nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, num_classes),
        )
    """
)
CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import torch
    torch.set_num_threads(1)
    from interpret.report.cli import main
    wall, cpu = time.perf_counter(), time.process_time()
    code = main(sys.argv[1:])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    status = open("/proc/self/status").read().split("\\n")
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    print(json.dumps({"code": code, "wall": wall, "cpu": cpu, "peak_kib": hwm}))
    """
)


def write_folder(root: Path, count: int, seed: int) -> None:
    import numpy as np
    import skimage.data
    from PIL import Image

    photos = {
        "astronaut": skimage.data.astronaut(),
        "cat": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
        "rocket": skimage.data.rocket(),
    }
    rng = np.random.default_rng(seed)
    for c, (name, photo) in enumerate(photos.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        h, w = photo.shape[:2]
        for i in range(c, count, len(photos)):
            side = int(rng.integers(min(h, w) // 4, min(h, w) // 1.5))
            top, left = int(rng.integers(0, h - side)), int(rng.integers(0, w - side))
            crop = np.ascontiguousarray(photo[top : top + side, left : left + side])
            Image.fromarray(crop).resize((64, 64)).save(root / name / f"{i:05d}.png")


def run_report(work: Path, folder: Path, out: Path) -> dict:
    command = [
        sys.executable, "-c", CHILD, "report", str(out), "--model", "bench_model:small_cnn",
        "--data", str(folder), "--image-size", "64", "--batch-size", "64", "--device", "cpu",
        "--analyzers", SECTIONS, "-q",
    ]  # fmt: skip
    path = os.pathsep.join(p for p in (str(work), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "INTERPRET_CACHE": str(work / "cache"), **ONE_THREAD}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"report failed: {done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    meta = json.loads((out / "report.json").read_text())
    measured["stages"] = meta["stages"]
    measured["images"] = meta["images"]
    return measured


def _shares(stages: dict[str, float]) -> dict[str, float]:
    """Each top-level stage's share of the wall time of all top-level stages."""
    top = {k: v for k, v in stages.items() if " / " not in k}
    return {k: round(v / sum(top.values()), 3) for k, v in top.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    args = parse(parser, quick={"small": 20, "large": 40})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "bench_model.py").write_text(MODEL)
        runs = {}
        for count in (args.small, args.large):
            folder = work / f"data{count}"
            write_folder(folder, count, seed=count)
            runs[count] = run_report(work, folder, work / f"report{count}")
            run = runs[count]
            top = {k: v for k, v in run["stages"].items() if " / " not in k}
            total = sum(top.values())
            print(
                f"{count} images: CPU {run['cpu']:.1f} s, wall {run['wall']:.1f} s, "
                f"peak RSS {run['peak_kib'] / 1024:.0f} MiB"
            )
            for stage, seconds in sorted(top.items(), key=lambda kv: -kv[1]):
                print(f"    {seconds:7.2f} s  {100 * seconds / total:5.1f}%  {stage}")
    small, large = runs[args.small], runs[args.large]
    memory = large["peak_kib"] / small["peak_kib"]
    per_image = (large["cpu"] / large["images"]) / (small["cpu"] / small["images"])
    report(
        {
            "peak_rss_large_over_small": ratio(
                memory,
                1.1,
                higher_is_better=False,
                small_mib=round(small["peak_kib"] / 1024),
                large_mib=round(large["peak_kib"] / 1024),
            ),
            "cpu_per_image_large_over_small": ratio(
                per_image,
                1.1,
                higher_is_better=False,
                small_ms=round(1000 * small["cpu"] / small["images"], 2),
                large_ms=round(1000 * large["cpu"] / large["images"], 2),
            ),
            "images": [small["images"], large["images"]],
            "timing": "process CPU time of the report's child; one thread (torch, BLAS, numba)",
            "stage_shares_large": _shares(large["stages"]),
            **device_note(args.device, "it measures the report's memory and CPU time per image"),
        }
    )


if __name__ == "__main__":
    main()
