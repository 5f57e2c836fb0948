"""Fuzzing the public entry points: a valid result or a ValueError/TypeError, nothing else.

After every call, successful or not: no hook left on the model, no NaN in a result
computed from finite input.
"""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.data import TensorDataset

from interpret import capture, scan
from interpret.core import ActivationStats, Result, hook_count
from interpret.core.receptive import receptive_field
from interpret.deconvnet import project
from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.testing import chain_cnn

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODEL = chain_cnn()
SITES = st.sampled_from(
    [
        "features.0",
        "features.2",
        "features.5",
        "features.8",
        "classifier.2",
        "features.*",
        "features",
        "nope",
        "features.1:0",
        "classifier",
        "",
    ]
)
DTYPES = st.sampled_from([torch.float32, torch.float64, torch.int64, torch.uint8, torch.float16])


def _images(n: int, h: int, w: int, dtype: torch.dtype, channels: int = 3) -> torch.Tensor:
    x = torch.randn(n, channels, h, w, generator=torch.Generator().manual_seed(n * 1000 + h * w))
    return x.to(dtype) if dtype.is_floating_point else (x.abs() * 10).to(dtype)


def _finite(value) -> bool:
    if isinstance(value, Result):
        return all(_finite(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, torch.Tensor):
        return not value.is_floating_point() or not bool(torch.isnan(value).any())
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    return True


def _check(call):
    before = hook_count(MODEL)
    try:
        result = call()
    except (ValueError, TypeError):
        result = None
    assert hook_count(MODEL) == before
    assert not MODEL.training
    assert result is None or _finite(result)


@FUZZ
@given(
    site=SITES,
    n=st.integers(1, 3),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    dtype=DTYPES,
    channels=st.sampled_from([1, 3]),
)
def test_capture(site, n, h, w, dtype, channels):
    def call():
        with capture(MODEL, site) as acts, torch.no_grad():
            MODEL(_images(n, h, w, dtype, channels))
        return dict(acts)

    # capture is a plain context manager: a model rejecting its input raises its own
    # RuntimeError through it (scan translates that); the hooks must still be gone.
    with contextlib.suppress(RuntimeError):
        _check(call)
    assert hook_count(MODEL) == 0


@FUZZ
@given(
    site=SITES,
    n=st.integers(0, 9),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    dtype=DTYPES,
    batch=st.integers(-1, 5),
    channels=st.sampled_from([1, 3]),
)
def test_scan(site, n, h, w, dtype, batch, channels):
    data = TensorDataset(_images(n, h, w, dtype, channels)) if n else TensorDataset(torch.empty(0))
    _check(
        lambda: scan(MODEL, data, [ActivationStats(site or "x")], batch_size=batch, progress=False)
    )


@FUZZ
@given(
    h=st.integers(4, 40),
    w=st.integers(4, 40),
    size=st.integers(-2, 45),
    stride=st.integers(-1, 12),
    fill=st.sampled_from(["gray", "mean", "blur", 0.0, "bogus"]),
    target=st.integers(-2, 7),
    padding=st.sampled_from(["cover", "valid", "wrong"]),
)
def test_occlusion(h, w, size, stride, fill, target, padding):
    def call():
        occluder = Occluder(window=size, stride=stride, fill=fill, padding=padding)
        return occlusion_sensitivity(
            MODEL, _images(1, h, w, torch.float32), occluder, target=target, site="features.5"
        )

    _check(call)


@FUZZ
@given(
    site=SITES,
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    channel=st.integers(-2, 12),
    mode=st.sampled_from(["max", "map", "unit", "bogus"]),
    route=st.sampled_from(["auto", "reverse", "gradient", "nope"]),
)
def test_project(site, h, w, channel, mode, route):
    def call():
        return project(
            MODEL, _images(2, h, w, torch.float32), site, channels=[channel], mode=mode, route=route
        )

    _check(call)


@FUZZ
@given(site=SITES)
def test_receptive_field(site):
    _check(lambda: receptive_field(MODEL, site))


def test_model_left_in_eval_and_unhooked():
    assert hook_count(MODEL) == 0 and not MODEL.training
    with pytest.raises(ValueError):
        receptive_field(MODEL, "classifier.2")
