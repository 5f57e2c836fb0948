"""A checkpoint resumes only its own scan: killed by SIGKILL and resumed, the result is
the uninterrupted one; any other analyzer parameter, weights or data is refused."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

from interpret.core.checkpoint import analyzer_config, model_digest
from interpret.core.results import Result, load_result
from interpret.deconvnet import TopActivations
from interpret.testing import chain_cnn

sys.path.insert(0, os.path.dirname(__file__))
import resume_job  # noqa: E402

JOB = os.path.join(os.path.dirname(__file__), "resume_job.py")


def _assert_equal(a, b, where: str = "result") -> None:
    if isinstance(a, Result):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _assert_equal(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-7, equal_nan=True), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_equal(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def _kill_midway(ckpt: str, kill_at: int = 30) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, JOB, ckpt, str(kill_at)], env=env, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.returncode


@pytest.fixture(scope="module")
def uninterrupted():
    return resume_job.run(resume_job.KilledData(), None)


@pytest.fixture(scope="module")
def killed_once(tmp_path_factory):
    ckpt = str(tmp_path_factory.mktemp("killed") / "scan.ckpt")
    _kill_midway(ckpt)
    assert os.path.isfile(ckpt)
    return ckpt


@pytest.fixture
def killed(killed_once, tmp_path):
    """A fresh copy of the checkpoint the killed scan left."""
    ckpt = tmp_path / "scan.ckpt"
    shutil.copyfile(killed_once, ckpt)
    return str(ckpt)


def test_sigkilled_scan_resumes_to_the_uninterrupted_result(killed, uninterrupted):
    saved = torch.load(killed, weights_only=False)
    assert saved["batches"] == 6  # killed in batch 8 (items 28-31); batch 7 was not saved
    resumed = resume_job.run(resume_job.KilledData(), killed)
    assert len(resumed) == len(uninterrupted)
    for a, b in zip(uninterrupted, resumed):
        _assert_equal(a, b)
    assert resumed[1].k == 5 and resumed[1].images_seen == resume_job.N
    assert not os.path.exists(killed)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"k": 3}, r"analyzer 1 \(TopActivations\) k: 5 in the checkpoint, 3 now"),
        ({"bins": 8}, r"analyzer 2 \(Selectivity\) bins: 16 in the checkpoint, 8 now"),
        ({"seed": 1}, "model weights"),
    ],
)
def test_resume_with_another_parameter_or_weights_is_refused(killed, change, named):
    with pytest.raises(ValueError, match=named):
        resume_job.run(resume_job.KilledData(), killed, **change)
    assert os.path.isfile(killed)  # refused, nothing overwritten


def test_resume_with_other_data_is_refused(killed):
    with pytest.raises(ValueError, match="different scan: data"):
        resume_job.run(resume_job.KilledData(seed=1), killed)


def _two_ranks(tmp_path, name: str, ckpt: str, kill_at: tuple[int, ...], k: int = 5) -> None:
    init = str(tmp_path / f"init-{name}")
    out = str(tmp_path / name)
    mp.start_processes(
        resume_job.distributed_worker,
        args=(2, init, ckpt, kill_at, k, out),
        nprocs=2,
        join=True,
        start_method="spawn",
    )


@pytest.mark.slow
def test_two_process_scan_killed_and_resumed_equals_one_process(tmp_path, uninterrupted):
    ckpt = str(tmp_path / "scan.ckpt")
    # rank 0 reads items 0-22, rank 1 items 23-44: each is killed midway in its shard
    with pytest.raises(mp.ProcessExitedException, match="SIGKILL"):
        _two_ranks(tmp_path, "killed", ckpt, (14, 37))
    assert os.path.isfile(f"{ckpt}.rank0") and os.path.isfile(f"{ckpt}.rank1")
    with pytest.raises(mp.ProcessRaisedException, match="k: 5 in the checkpoint, 3 now"):
        _two_ranks(tmp_path, "other-k", ckpt, (), k=3)
    _two_ranks(tmp_path, "resumed", ckpt, ())
    for rank in range(2):
        for i, want in enumerate(uninterrupted):
            got = load_result(tmp_path / f"resumed.{rank}.{i}")
            _assert_equal(want, got)
    assert not os.path.exists(f"{ckpt}.rank0") and not os.path.exists(f"{ckpt}.rank1")


def test_identity_sees_every_parameter_and_every_weight():
    assert analyzer_config(TopActivations("a", k=3)) != analyzer_config(TopActivations("a", k=4))
    a = analyzer_config(TopActivations("a", distinct_images=False))
    assert a != analyzer_config(TopActivations("a"))
    model = chain_cnn()
    before = model_digest(model)
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1e-6
    assert model_digest(model) != before
