"""Sharded scan throughput, 1 vs 2 processes (gloo), and the cost of merging states.

Model: torchvision ResNet-18 (random init; timing only) on generated 64x64 images, with
every streaming analyzer of the library on its sites. The 2-process run uses
``torch.multiprocessing`` with gloo, one thread per process; the 1-process run uses one
thread too, so the ratio measures sharding, not intra-op threading. Merge cost: the time
of ``gather_and_merge`` (pickling, all-gather, merging) per scan, divided by the batches.

    python bench/distributed.py [--images 2000] [--batch-size 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "scale"))
from _common import device_note, parse, ratio, report  # noqa: E402

from interpret import scan  # noqa: E402
from interpret.core import Shard, gather_and_merge  # noqa: E402


def _model() -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=10).eval()


def _analyzers():
    from interpret.core import ActivationStats
    from interpret.deconvnet import TopActivations
    from interpret.embeddings import ImageEmbeddings, PatchEmbeddings
    from interpret.neurons import Selectivity

    return [
        ActivationStats(["layer1", "layer3"]),
        TopActivations("layer2", k=9),
        Selectivity("layer4", classes=3),
        PatchEmbeddings("layer3", max_patches=2000),
        ImageEmbeddings("avgpool", max_images=2000),
    ]


def _data(n: int):
    from streaming import GeneratedImages

    return GeneratedImages(n, size=(64, 64))


def _worker(rank: int, world: int, init: str, n: int, batch: int, out: str) -> None:
    """What ``scan(distributed=True)`` does, in its two timed parts: own shard, then merge."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    try:
        analyzers = _analyzers()
        dist.barrier()
        start = time.perf_counter()
        shard = Shard(rank, world).indices(n)
        scan(
            _model(),
            _data(n),
            analyzers,
            batch_size=batch,
            progress=False,
            indices=shard,
            distributed=False,
        )
        merge_start = time.perf_counter()
        gather_and_merge(analyzers)
        end = time.perf_counter()
        if rank == 0:
            with open(out, "w") as handle:
                handle.write(f"{end - start} {end - merge_start}")
    finally:
        dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parse(parser, quick={"images": 40, "batch_size": 10})
    torch.set_num_threads(1)
    start = time.perf_counter()
    scan(_model(), _data(args.images), _analyzers(), batch_size=args.batch_size, progress=False)
    one = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "timing")
        mp.start_processes(
            _worker,
            nprocs=2,
            join=True,
            start_method="spawn",
            args=(2, os.path.join(tmp, "init"), args.images, args.batch_size, out),
        )
        with open(out) as handle:
            two, merge = map(float, handle.read().split())
    batches_per_rank = -(-args.images // 2 // args.batch_size)
    print(
        f"1 process: {args.images / one:.1f} img/s; 2 processes: {args.images / two:.1f} img/s; "
        f"merge {merge * 1000:.1f} ms per scan ({merge / batches_per_rank * 1000:.2f} ms/batch)"
    )
    report(
        {
            "two_vs_one_process_throughput": ratio(
                one / two,
                1.6,
                images=args.images,
                one_img_per_s=round(args.images / one, 1),
                two_img_per_s=round(args.images / two, 1),
            ),
            "merge_share_of_scan": ratio(
                merge / two,
                0.05,
                higher_is_better=False,
                merge_ms=round(merge * 1000, 1),
                merge_ms_per_batch=round(merge / batches_per_rank * 1000, 3),
            ),
            **device_note(
                args.device,
                "two gloo processes on one machine's CPU (one GPU has no second "
                "device to shard over)",
            ),
        }
    )


if __name__ == "__main__":
    main()
