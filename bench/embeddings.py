"""Benchmark of the embeddings package: t-SNE speed and quality, UMAP warm, patch scan.

Run: ``python bench/embeddings.py`` (about 6 minutes on 2 cores) or
``python bench/embeddings.py --full`` (also runs scikit-learn at 50k instead of
extrapolating it, and our t-SNE at FIt-SNE's ``fft_interval=1``; about 12 minutes).

Data: ``N`` vectors of 256 dimensions in 20 clusters, each cluster a 3-D Gaussian sheet
(random orientation) plus isotropic noise, so that both the clusters and the neighbours
within a cluster are real structure. Quality: 10-NN preservation (share of each point's
10 nearest neighbours in 256-D kept in 2-D, over 1000 random points) and 5-NN accuracy
of the cluster labels in 2-D.

Ours (the library's defaults: PCA to 100, Annoy neighbours, openTSNE FFT gradients) at
20k, 50k and 100k; scikit-learn's Barnes-Hut t-SNE (the same 750 iterations and threads)
at 10k and 20k. By default its 50k time is extrapolated with the power law through those
two points (never flatter than ``N log N``) and marked ``"extrapolated": true``; ``--full``
measures it (then the 50k ratio and quality comparison use the measurement).

Timing: on a machine loaded past its cores (other jobs), one thread is used and the
ratios use process CPU time; on an idle machine, two threads and wall time.

The last line printed is one JSON object with every ratio, its target and ``met``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from _common import device_note, parse  # noqa: E402

from interpret.embeddings import (  # noqa: E402
    TSNE,
    UMAP,
    ImageEmbeddings,
    PatchEmbeddings,
    knn_accuracy,
    knn_preservation,
    warm_up_umap,
)

DIMS, CLUSTERS = 256, 20


def vectors(n: int, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLUSTERS, n)
    centres = np.random.default_rng(1).normal(scale=6.0, size=(CLUSTERS, DIMS))
    sheets = np.random.default_rng(2).normal(size=(CLUSTERS, 3, DIMS)) / math.sqrt(3)
    z = rng.normal(size=(n, 3)) * 2.0
    x = centres[y] + np.einsum("nk,nkd->nd", z, sheets[y]) + 0.3 * rng.normal(size=(n, DIMS))
    return torch.from_numpy(x.astype(np.float32)), y


def quality(x: torch.Tensor, coords: torch.Tensor, y: np.ndarray) -> dict[str, float]:
    return {
        "knn_preservation": round(knn_preservation(x, coords, k=10, queries=1000), 4),
        "knn_accuracy": round(knn_accuracy(coords, y, k=5, queries=1000), 4),
    }


class Clock:
    """Wall time, and the process's CPU time (all its threads). On a machine shared with
    other jobs, the CPU time of a one-thread run is what the run itself costs; the wall
    time also counts the waiting for a core."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def ours(n: int, threads: int, fft_interval: float | None = None) -> dict:
    x, y = vectors(n)
    extra = {} if fft_interval is None else {"fft_interval": fft_interval}
    emb = TSNE(perplexity=30, seed=0, n_jobs=threads, **extra)
    with Clock() as clock:
        res = emb.fit(x)
    out = {
        "n": n,
        "wall_seconds": round(clock.wall, 2),
        "cpu_seconds": round(clock.cpu, 2),
        "gradient": res.params["gradient"],
        "neighbors": res.params["neighbors"],
        "fft_interval": res.params["fft_interval"],
    }
    out.update(quality(x, res.coordinates, y))
    print(f"ours t-SNE {n}: {out}", flush=True)
    return out


def sklearn_tsne(n: int, threads: int) -> dict:
    from sklearn.manifold import TSNE as SkTSNE

    x, y = vectors(n)
    model = SkTSNE(
        perplexity=30,
        max_iter=750,
        init="pca",
        learning_rate="auto",
        random_state=0,
        n_jobs=threads,
    )
    with Clock() as clock:
        coords = model.fit_transform(x.numpy())
    out = {"n": n, "wall_seconds": round(clock.wall, 2), "cpu_seconds": round(clock.cpu, 2)}
    out.update(quality(x, torch.from_numpy(coords).float(), y))
    print(f"sklearn t-SNE {n}: {out}", flush=True)
    return out


def power_law(t1: float, n1: int, t2: float, n2: int) -> float:
    """Exponent ``a`` of ``t = c n^a`` through two measurements, at least that of
    ``n log n`` over the same range (Barnes-Hut's asymptotic cost)."""
    nlogn = math.log((n2 * math.log(n2)) / (n1 * math.log(n1))) / math.log(n2 / n1)
    return max(math.log(t2 / t1) / math.log(n2 / n1), nlogn)


def umap_warm(n: int) -> dict:
    cold = warm_up_umap()
    x, y = vectors(n)
    res = UMAP(n_neighbors=15, seed=None).fit(x)  # seed=None: all threads
    out = {
        "n": n,
        "warm_up_seconds": round(cold, 2),
        "seconds": round(res.seconds, 2),
        "note": res.note,
    }
    out.update(quality(x, res.coordinates, y))
    print(f"UMAP {n}: {out}", flush=True)
    return out


def patch_scan(images: int = 96, repeats: int = 3) -> dict:
    """EfficientNet-Lite0 at 224: a bare forward loop vs ``scan`` feeding PatchEmbeddings
    (3x3 neighbourhoods of blocks.3, stratified 16 per image, 32-px thumbnails of each
    field) and ImageEmbeddings (global_pool).

    The patch reservoir holds 256 and is full after 16 images: the rest of the run is the
    steady state of a long scan, where a candidate is cropped and kept only when it enters
    the sample. (Until a reservoir is full, every candidate is cropped.)
    """
    from interpret import scan
    from interpret.models.efficientnet import efficientnet_lite0

    model = efficientnet_lite0()
    gen = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.rand(images, 3, 224, 224, generator=gen) * 2 - 1)
    start = time.perf_counter()
    field = PatchEmbeddings("blocks.3", model=model, input_size=(224, 224)).field
    field_seconds = time.perf_counter() - start
    bare: list[Clock] = []
    scanned: list[Clock] = []
    for _ in range(repeats):
        with Clock() as clock, torch.inference_mode():
            for (batch,) in torch.utils.data.DataLoader(data, batch_size=16):
                model(batch)
        bare.append(clock)
        analyzers = [
            PatchEmbeddings("blocks.3", 3, 256, "stratified", per_image=16, field=field),
            ImageEmbeddings("global_pool"),
        ]
        with Clock() as clock:
            scan(model, data, analyzers, batch_size=16, progress=False)
        scanned.append(clock)
    out = {
        "images": images,
        "bare_wall_seconds": round(min(c.wall for c in bare), 3),
        "bare_cpu_seconds": round(min(c.cpu for c in bare), 3),
        "scan_wall_seconds": round(min(c.wall for c in scanned), 3),
        "scan_cpu_seconds": round(min(c.cpu for c in scanned), 3),
        "field_seconds_once": round(field_seconds, 2),
    }
    print(f"patch scan: {out}", flush=True)
    return out


def sklearn_at_50k(sk: dict, key: str) -> tuple[float, float | None, str]:
    """scikit-learn's 50k ``(seconds, preservation or None, how)``: measured if it ran,
    else extrapolated from its 10k and 20k times."""
    if 50_000 in sk:
        return sk[50_000][key], sk[50_000]["knn_preservation"], "measured"
    lo, hi = sk[10_000], sk[20_000]
    exponent = power_law(lo[key], lo["n"], hi[key], hi["n"])
    law = f"extrapolated: t = c n^{exponent:.2f} through its 10k and 20k times"
    return hi[key] * (50_000 / 20_000) ** exponent, None, law


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="measure scikit-learn at 50k; FIt-SNE's interval"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run at 1/10 of the sizes (no targets)"
    )
    args = parse(parser)
    scale = 10 if args.quick else 1
    # 2 threads on 2 idle cores; on a machine already loaded past its cores, OpenMP
    # threads that wait for each other at every step make everything many times slower,
    # so one thread measures more faithfully there (BENCH_THREADS overrides).
    busy = os.getloadavg()[0] > (os.cpu_count() or 1)
    threads = int(os.environ.get("BENCH_THREADS", "1" if busy else "2"))
    torch.set_num_threads(threads)
    t0 = time.perf_counter()

    # one thread: CPU time is the measure (robust to other jobs); two: wall time
    key = "cpu_seconds" if threads == 1 else "wall_seconds"
    sk_sizes = [10_000, 20_000] + ([50_000] if args.full else [])
    sk = {n: sklearn_tsne(n // scale, threads) for n in sk_sizes}
    us = {n: ours(n // scale, threads) for n in (20_000, 50_000, 100_000)}
    fitsne = {}
    if args.full:  # openTSNE at FIt-SNE's default grid, for comparison with our default
        fitsne = {n: ours(n // scale, threads, fft_interval=1.0) for n in (20_000, 50_000)}
    um = umap_warm(10_000 // scale)
    ps = patch_scan(images=8 if args.quick else 96)

    sk50, sk50_quality, how = sklearn_at_50k(sk, key)
    ratio50 = sk50 / us[50_000][key]
    ours50 = us[50_000]["knn_preservation"]
    result: dict = {
        "machine": {
            "threads": threads,
            "cpus": os.cpu_count(),
            "load_avg_1min_at_end": round(os.getloadavg()[0], 2),
            "time_measure": key,
        },
        "sklearn_tsne": {str(n): v for n, v in sk.items()},
        "ours_tsne": {str(n): v for n, v in us.items()},
        "ours_tsne_fft_interval_1": {str(n): v for n, v in fitsne.items()},
        "tsne_speedup_50k": {
            "ratio": round(ratio50, 2),
            "target": ">= 3",
            "met": ratio50 >= 3,
            "ours_seconds": us[50_000][key],
            "sklearn_seconds": round(sk50, 1),
            "extrapolated": sk50_quality is None,
            "sklearn": how,
        },
        "tsne_speedup_20k": {
            "ratio": round(sk[20_000][key] / us[20_000][key], 2),
            "target": "(reported; the issue's target is at 50k)",
            "met": None,
        },
    }
    for n, theirs in ((20_000, sk[20_000]["knn_preservation"]), (50_000, sk50_quality)):
        if theirs is None:
            continue
        mine = us[n]["knn_preservation"]
        result[f"tsne_preservation_vs_sklearn_{n // 1000}k"] = {
            "ratio": round(mine / theirs, 3),
            "ours": mine,
            "sklearn": theirs,
            "target": ">= 1 (equal or better)",
            "met": mine >= theirs,
        }
    if sk50_quality is None:
        result["tsne_preservation_ours_50k"] = {"value": ours50, "note": "run --full to compare"}
    secs = us[100_000][key]
    result["tsne_100k_seconds"] = {"value": round(secs, 1), "target": "<= 300", "met": secs <= 300}
    result["umap_warm_10k"] = {**um, "target": "(reported)", "met": None}
    which = "cpu" if threads == 1 else "wall"
    ratio = ps[f"bare_{which}_seconds"] / ps[f"scan_{which}_seconds"]
    result["patch_scan_vs_bare"] = {
        "ratio": round(ratio, 3),
        "target": ">= 0.8 (throughput of the scan / bare inference)",
        "met": ratio >= 0.8,
        **ps,
    }
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    result.update(device_note(args.device, "openTSNE, scikit-learn and UMAP run on the CPU"))
    if args.quick:
        result = {"quick_smoke_run": True, "note": "sizes / 10: targets do not apply", **result}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
