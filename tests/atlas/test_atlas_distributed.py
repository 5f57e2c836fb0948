"""Two gloo processes build the single-process atlas; rank 0 alone projects and writes."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from atlas_helpers import SITES

from interpret.atlas import AtlasData, build

OPTIONS = dict(sites=SITES, image_size=32, batch_size=5, maximize={"features.4": [0, 3]})


def _worker(rank: int, world: int, init_file: str, root: str, folder: str) -> None:
    sys.path.insert(0, os.path.dirname(__file__))
    from atlas_helpers import FORWARDS

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        atlas = build(Path(root) / "atlas", "atlas_helpers:counted_chain_cnn", [folder], **OPTIONS)
        rows = sum(int(x.shape[0]) for x in FORWARDS if x.shape[-1] == 32)
        record = {
            "path": str(atlas.path),
            "maximized": atlas.data.sites["features.4"].maximized.tolist(),
            "top": atlas.data.sites["features.7"].top.values.sum().item(),
            "rows_32": rows,
            "largest_side": max(int(x.shape[-1]) for x in FORWARDS),
        }

        def fail_on_rank_0(message: str) -> None:
            if message.startswith("scan"):  # inside rank 0's part, after the scan
                raise ValueError("stop here")

        try:
            build(Path(root) / "failed", "interpret.testing:chain_cnn", [folder],
                  log=fail_on_rank_0 if rank == 0 else None, **OPTIONS)  # fmt: skip
        except (ValueError, RuntimeError) as err:
            record["failure"] = f"{type(err).__name__}: {err}"
        Path(root, f"rank{rank}.json").write_text(json.dumps(record))
    finally:
        dist.destroy_process_group()


def _assert_same(a: object, b: object, where: str) -> None:
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        if a.is_floating_point():
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, equal_nan=True, msg=where)
        else:
            assert torch.equal(a, b), where
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-6, nan_ok=True), where
    else:
        assert a == b, where


@pytest.mark.slow
def test_two_processes_build_the_single_process_atlas(tmp_path: Path, class_folder: Path) -> None:
    single = build(tmp_path / "single" / "atlas", "interpret.testing:chain_cnn",
                   [str(class_folder)], **OPTIONS)  # fmt: skip
    root = tmp_path / "dist"
    root.mkdir()
    mp.start_processes(_worker, args=(2, str(tmp_path / "init"), str(root), str(class_folder)),
                       nprocs=2, join=True, start_method="spawn")  # fmt: skip
    sharded = AtlasData.load(root / "atlas" / "data" / "atlas.pt")
    assert sharded.model == "atlas_helpers:counted_chain_cnn"  # chain_cnn, counting its inputs
    _assert_same(dataclasses.replace(single.data, model=sharded.model), sharded, "atlas")
    records = [json.loads((root / f"rank{r}.json").read_text()) for r in range(2)]
    # one folder written, by rank 0; the failed build left nothing
    assert sorted(p.name for p in root.iterdir()) == ["atlas", "rank0.json", "rank1.json"]
    assert sorted(p.name for p in (root / "atlas").iterdir()) == sorted(
        p.name for p in single.path.iterdir()
    )
    # every rank returns rank 0's atlas
    assert records[0]["path"] == records[1]["path"] == str(root / "atlas")
    assert records[0]["maximized"] == records[1]["maximized"] == [0, 3]
    assert records[0]["top"] == records[1]["top"]
    # rank 1 read its half of the 12 images (+ 2 probes of one image each) and nothing
    # else: no projections (which re-read the top images), no maximization (96 px and up)
    assert records[1]["rows_32"] <= 6 + 4 and records[1]["largest_side"] == 32
    assert records[0]["rows_32"] > 6 + 4 and records[0]["largest_side"] >= 96
    assert records[0]["failure"] == "ValueError: stop here"
    assert records[1]["failure"].startswith("RuntimeError: Rank 0 failed")
    assert "stop here" in records[1]["failure"]
