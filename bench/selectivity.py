"""Benchmark: bare inference vs ``scan`` with ``Selectivity`` on two sites.

A chain CNN (``interpret.testing.chain_cnn(channels=(3, 32, 64, 128))``, sites
``features.4`` and ``features.7``) or ``--model resnet18`` (torchvision, random init,
sites ``layer3`` and ``avgpool``) on 32x32 generated images, 10 classes, 10,000 images by
default. Both passes iterate the same Dataset through the same DataLoader pipeline
(``interpret.core.iterate_batches``); "bare" only calls the model under
``torch.inference_mode``; "scan" is ``interpret.scan`` with two ``Selectivity``
analyzers (adaptive edges, 64 bins, per-class statistics).

Each size (``--small`` and ``--images``) runs in its own subprocess (``ru_maxrss`` is a
monotonic maximum): ``--repeats`` alternating scan and bare passes (the fastest of each
is kept). Peak RSS is read right after the first scan pass (the scan's own peak; the
bare DataLoader passes themselves grow RSS by ~2% from 2,000 to 10,000 images through
allocator churn, so the peak after all passes is reported too).
Peak memory must not grow with the number of images.

Threads: one by default. On a small shared machine (here 2 cores for several jobs) every
multi-threaded tensor op waits at an OpenMP barrier for a descheduled thread, which
makes the many small ops of any analyzer look far costlier than they are; one thread
measures the work itself. ``--threads 0`` keeps torch's default.

Run: ``python bench/selectivity.py``; the last line is JSON with every ratio, its
target and whether it was met.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch
from torch.utils.data import Dataset

sys.path.insert(0, os.path.dirname(__file__))
from _common import device_note, parse  # noqa: E402


class Generated(Dataset):
    """``n`` images cycled from a fixed pool of 256 (memory does not grow with ``n``)."""

    def __init__(self, n: int, size: int = 32, classes: int = 10) -> None:
        g = torch.Generator().manual_seed(0)
        self.n, self.classes = n, classes
        self.pool = torch.randn(256, 3, size, size, generator=g)
        self.shift = torch.randn(classes, 3, 1, 1, generator=g)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        label = i % self.classes
        return self.pool[i % 256] + self.shift[label], label


def build_model(name: str) -> torch.nn.Module:
    if name == "resnet18":
        from torchvision.models import resnet18

        torch.manual_seed(0)  # torchvision initialises from the global generator; bench only
        return resnet18(weights=None, num_classes=10).eval()
    from interpret.testing import chain_cnn

    return chain_cnn(channels=(3, 32, 64, 128), num_classes=10, seed=0)


def sites_of(name: str) -> tuple[str, str]:
    return ("layer3", "avgpool") if name == "resnet18" else ("features.4", "features.7")


def bare(model, data, batch_size: int) -> float:
    from interpret.core import iterate_batches

    start = time.perf_counter()
    with torch.inference_mode():
        for _, inputs, _, _ in iterate_batches(data, batch_size):
            model(inputs)
    return time.perf_counter() - start


def scanned(model, data, batch_size: int, sites: tuple[str, str]):
    from interpret.core import scan
    from interpret.neurons import Selectivity

    analyzers = [Selectivity(site, classes=10) for site in sites]
    start = time.perf_counter()
    results = scan(model, data, analyzers, batch_size=batch_size, progress=False)
    return time.perf_counter() - start, results


def child(n: int, batch_size: int, model_name: str, threads: int, repeats: int) -> None:
    """Alternating bare and scan passes over ``n`` images (fastest of each kept: the
    least disturbed by other jobs), then the peak RSS of the whole process."""
    if threads:
        torch.set_num_threads(threads)
    model = build_model(model_name)
    sites = sites_of(model_name)
    bare(model, Generated(2 * batch_size), batch_size)  # warm-up
    scanned(model, Generated(2 * batch_size), batch_size, sites)
    bare_times, scan_times = [], []
    scan_rss_kib = 0
    for _ in range(repeats):  # scan first: the peak after it is the scan's alone
        seconds, results = scanned(model, Generated(n), batch_size, sites)
        scan_times.append(seconds)
        scan_rss_kib = scan_rss_kib or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        bare_times.append(bare(model, Generated(n), batch_size))
    t_bare, t_scan = min(bare_times), min(scan_times)
    assert results[0].num_images == n and results[1].num_images == n
    best = results[0].per_class.best(0, 1)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "images": n,
                "threads": torch.get_num_threads(),
                "bare_s": t_bare,
                "scan_s": t_scan,
                "bare_runs": bare_times,
                "scan_runs": scan_times,
                "peak_rss_mib": peak_kib / 1024,
                "scan_peak_rss_mib": scan_rss_kib / 1024,
                "neurons": [r.num_neurons for r in results],
                "best_class0": [int(best[0][0]), float(best[1][0])],
            }
        )
    )


def run_child(n: int, batch_size: int, model_name: str, threads: int, repeats: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(n),
            "--batch-size",
            str(batch_size),
            "--model",
            model_name,
            "--threads",
            str(threads),
            "--repeats",
            str(repeats),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--model", choices=("chain", "resnet18"), default="chain")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (0: torch's default); see above"
    )
    parser.add_argument("--repeats", type=int, default=2, help="alternating passes per size")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parse(parser, quick={"images": 400, "small": 200, "batch_size": 50, "repeats": 1})
    if args.child:
        child(args.child, args.batch_size, args.model, args.threads, args.repeats)
        return
    sites = sites_of(args.model)
    runs = [
        run_child(n, args.batch_size, args.model, args.threads, args.repeats)
        for n in (args.small, args.images)
    ]
    for r in runs:
        print(
            f"{r['images']} images ({args.model}, batch {args.batch_size}, {r['threads']} "
            f"thread(s), sites {sites} with "
            f"{r['neurons']} neurons): bare {r['bare_s']:.2f} s ({r['images'] / r['bare_s']:.0f} "
            f"img/s), scan + 2 x Selectivity {r['scan_s']:.2f} s "
            f"({r['images'] / r['scan_s']:.0f} img/s), ratio {r['bare_s'] / r['scan_s']:.3f}; "
            f"peak RSS after the first scan {r['scan_peak_rss_mib']:.1f} MiB, after all passes "
            f"{r['peak_rss_mib']:.1f} MiB; runs bare "
            f"{[round(t, 2) for t in r['bare_runs']]}, scan {[round(t, 2) for t in r['scan_runs']]}"
        )
    small, large = runs
    ratio = large["bare_s"] / large["scan_s"]
    growth = large["scan_peak_rss_mib"] / small["scan_peak_rss_mib"]
    print(
        json.dumps(
            {
                "scan_vs_bare": {
                    "ratio": round(ratio, 3),
                    "target": ">= 0.9",
                    "met": ratio >= 0.9,
                    "images": large["images"],
                    "ratio_at_small": round(small["bare_s"] / small["scan_s"], 3),
                },
                "peak_memory_large_vs_small": {
                    "ratio": round(growth, 3),
                    "target": "<= 1.05",
                    "met": growth <= 1.05,
                    "small_images": small["images"],
                    "small_mib": round(small["scan_peak_rss_mib"], 1),
                    "large_images": large["images"],
                    "large_mib": round(large["scan_peak_rss_mib"], 1),
                    "with_bare_passes_mib": [
                        round(small["peak_rss_mib"], 1),
                        round(large["peak_rss_mib"], 1),
                    ],
                },
                **device_note(
                    args.device, "it measures host memory (peak RSS) as the dataset grows"
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
