"""Sharded scans (2 processes, gloo), checkpoint/resume, amp and channels_last."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import TensorDataset

from interpret.core import ActivationStats, Shard, scan
from interpret.testing import chain_cnn

SITES = ("features.2", "features.5")


def _data(n: int = 45) -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(n, 3, 21, 17, generator=gen), torch.arange(n) % 3)


def _assert_same(a, b, exact: bool = True) -> None:
    for site in SITES:
        x, y = a.sites[site], b.sites[site]
        assert x.count == y.count
        assert torch.equal(x.top_image_index, y.top_image_index) and torch.equal(
            x.top_value, y.top_value
        )
        assert torch.equal(x.active_fraction, y.active_fraction)
        for field in ("mean", "std", "min", "max"):
            if exact:
                assert torch.equal(getattr(x, field), getattr(y, field)), field
            else:  # moments merged in another order: float64 rounding, then float32
                torch.testing.assert_close(getattr(x, field), getattr(y, field))


def _worker(rank: int, world: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        torch.set_num_threads(1)
        (result,) = scan(
            chain_cnn(), _data(), [ActivationStats(SITES)], batch_size=4, progress=False
        )
        result.save(f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_equal_one(tmp_path):
    (single,) = scan(chain_cnn(), _data(), [ActivationStats(SITES)], batch_size=4, progress=False)
    out = str(tmp_path / "result")
    mp.start_processes(
        _worker, args=(2, str(tmp_path / "init"), out), nprocs=2, join=True, start_method="spawn"
    )
    from interpret.core import ActivationStatsResult

    for rank in range(2):
        _assert_same(single, ActivationStatsResult.load(f"{out}.{rank}"), exact=False)


def test_shards_cover_dataset_once():
    for length in (0, 1, 7, 45):
        for world in (1, 2, 3, 8):
            got = [i for r in range(world) for i in Shard(r, world).indices(length)]
            assert got == list(range(length))
    with pytest.raises(ValueError, match="rank"):
        Shard(2, 2)


def test_distributed_true_without_group_is_a_clear_error():
    with pytest.raises(ValueError, match="init_process_group"):
        scan(chain_cnn(), _data(), [ActivationStats(SITES)], distributed=True, progress=False)


class Interrupt(Exception):
    pass


class CrashingData(torch.utils.data.Dataset):
    """The dataset of :func:`_data`, raising at item ``crash_at`` (a scan killed midway)."""

    def __init__(self, crash_at: int | None) -> None:
        self.data = _data()
        self.crash_at = crash_at

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int):
        if i == self.crash_at:
            raise Interrupt
        return self.data[i]


def test_killed_scan_resumes_to_identical_result(tmp_path):
    def run(data, ckpt, batch_size=4, every=2):
        return scan(
            chain_cnn(),
            data,
            [ActivationStats(SITES)],
            batch_size=batch_size,
            progress=False,
            checkpoint=ckpt,
            checkpoint_every=every,
        )

    (uninterrupted,) = run(_data(), None)
    ckpt = tmp_path / "scan.ckpt"
    with pytest.raises(Interrupt):
        run(CrashingData(30), ckpt)
    assert ckpt.is_file()
    saved = torch.load(ckpt, weights_only=False)
    assert saved["batches"] == 6  # the crash came in batch 8 (items 28-31); 7 was not saved
    (resumed,) = run(CrashingData(None), ckpt)
    _assert_same(uninterrupted, resumed, exact=False)
    assert resumed.sites[SITES[0]].count == len(_data())
    assert not ckpt.exists()
    with pytest.raises(Interrupt):
        run(CrashingData(30), ckpt)
    with pytest.raises(ValueError, match="different scan"):
        run(_data(), ckpt, batch_size=8)
    with pytest.raises(ValueError, match="checkpoint_every"):
        run(_data(), tmp_path / "x", every=0)


def test_amp_and_channels_last_stay_within_stated_tolerance():
    data = _data()
    (ref,) = scan(chain_cnn(), data, [ActivationStats(SITES)], progress=False)
    (cl,) = scan(chain_cnn(), data, [ActivationStats(SITES)], channels_last=True, progress=False)
    (bf16,) = scan(chain_cnn(), data, [ActivationStats(SITES)], amp=True, progress=False)
    for site in SITES:
        torch.testing.assert_close(cl.sites[site].mean, ref.sites[site].mean, rtol=1e-5, atol=1e-5)
        scale = float(ref.sites[site].max.abs().max())
        err = float((bf16.sites[site].mean - ref.sites[site].mean).abs().max())
        assert err <= 2e-2 * scale, (site, err, scale)
