"""scan with three analyzers on three sites vs bare batched inference, same model and data.

Model: the bundled EfficientNet-Lite0 (real weights) on 224x224 inputs made from real photo
crops. Analyzers: deconvnet.TopActivations (top-9 per channel), neurons.Selectivity
(per-class histograms) and embeddings.PatchEmbeddings (reservoir of local vectors), each on
its own site. Both sides read the same Dataset through a DataLoader of the same batch size.
Target: scan throughput at least 0.9x bare inference on the CPU, 0.95x on a GPU (where
every host synchronization inside a batch would show).

    python bench/scan_overhead.py [--images 256] [--batch-size 32] [--device cuda] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

import torch
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.dirname(__file__))
from _common import device_ratio, device_time, parse, report  # noqa: E402

from interpret import scan  # noqa: E402
from interpret.data import EFFICIENTNET_LITE0, sample_photos  # noqa: E402
from interpret.deconvnet import TopActivations  # noqa: E402
from interpret.embeddings import PatchEmbeddings  # noqa: E402
from interpret.models import efficientnet_lite0  # noqa: E402
from interpret.neurons import Selectivity  # noqa: E402

SITES = ("blocks.2", "blocks.4", "blocks.6")


def photo_crops(n: int, size: int = 224) -> TensorDataset:
    """``n`` random 224x224 crops of the sample photos (shorter side 256), label = photo."""
    gen = torch.Generator().manual_seed(0)
    full = dataclasses.replace(EFFICIENTNET_LITE0, size=None)  # resize to 256, no crop
    photos = [full(image) for _, image in sample_photos()]
    crops, labels = [], []
    for i in range(n):
        k = i % len(photos)
        h, w = photos[k].shape[1:]
        y = int(torch.randint(0, h - size + 1, (1,), generator=gen))
        x = int(torch.randint(0, w - size + 1, (1,), generator=gen))
        crops.append(photos[k][:, y : y + size, x : x + size])
        labels.append(k)
    return TensorDataset(torch.stack(crops), torch.tensor(labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parse(parser, quick={"images": 8, "batch_size": 4})
    torch.set_num_threads(1)
    device = torch.device(args.device)
    model = efficientnet_lite0().to(device)
    data = photo_crops(args.images)
    pin = device.type == "cuda"
    classes = int(data.tensors[1].max()) + 1

    def bare() -> None:
        with torch.inference_mode():
            for x, _ in DataLoader(data, batch_size=args.batch_size, pin_memory=pin):
                model(x.to(device, non_blocking=True))

    def scanned() -> None:
        analyzers = [
            TopActivations(SITES[0], k=9),
            Selectivity(SITES[1], classes=classes, edges=(0.0, 6.0)),
            PatchEmbeddings(SITES[2], max_patches=5000),
        ]
        scan(model, data, analyzers, batch_size=args.batch_size, progress=False)

    repeats = 1 if args.quick else 3
    t_bare = device_time(bare, device, repeats=repeats)
    t_scan = device_time(scanned, device, repeats=repeats)
    print(
        f"bare: {args.images / t_bare:.1f} img/s   scan (3 analyzers, 3 sites): "
        f"{args.images / t_scan:.1f} img/s   threads={torch.get_num_threads()}"
    )
    report(
        {
            "scan_vs_bare_throughput": device_ratio(
                t_bare / t_scan,
                0.9,
                device,
                "scan_three_analyzers_vs_bare",
                images=args.images,
                bare_img_per_s=round(args.images / t_bare, 2),
                scan_img_per_s=round(args.images / t_scan, 2),
            ),
        }
    )


if __name__ == "__main__":
    main()
