"""Property-based: bad input to every public entry point is refused clearly.

Each generated bad input must raise ``ValueError`` or ``TypeError`` with a message,
within :data:`TIME_LIMIT` seconds, and leave the model as it was: no hook, the same
``training`` flags, ``requires_grad`` flags and state dict. Hypothesis runs with a fixed
seed (``derandomize=True``); the counts per entry point are printed at the end of the run.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tally
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.data import TensorDataset

from interpret import capture, scan
from interpret.core import ActivationStats
from interpret.core.results import load_result
from interpret.core.state import hook_count
from interpret.deconvnet import TopActivations, project
from interpret.embeddings import nearest, pca, tsne
from interpret.neurons import Selectivity
from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.testing import chain_cnn

TIME_LIMIT = 5.0
EXAMPLES = 150
FUZZ = settings(
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _model() -> nn.Module:
    model = chain_cnn()
    model.train()
    model.features[1].eval()  # mixed modes must come back as they were
    model.classifier[2].bias.requires_grad_(False)
    return model


MODEL = _model()
IMAGES = torch.randn(4, 3, 23, 31, generator=torch.Generator().manual_seed(0))
DATA = TensorDataset(IMAGES, torch.arange(4) % 3)
FOLDER = Path(tempfile.mkdtemp(prefix="interpret-fuzz-"))


def _snapshot(model: nn.Module) -> tuple:
    return (
        [m.training for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
        {k: v.clone() for k, v in model.state_dict().items()},
    )


BEFORE = _snapshot(MODEL)


def _same(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and a[1] == b[1] and all(torch.equal(a[2][k], b[2][k]) for k in a[2])


def refuses(entry: str, case: tuple[str, Callable[[], Any]]) -> None:
    category, call = case
    tally.TRIED[entry] += 1
    tally.CATEGORIES[(entry, category)] += 1
    start = time.perf_counter()
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    elapsed = time.perf_counter() - start
    assert str(info.value).strip(), f"{entry}/{category}: empty message"
    assert elapsed < TIME_LIMIT, f"{entry}/{category}: {elapsed:.1f} s"
    assert hook_count(MODEL) == 0, f"{entry}/{category}: hook left"
    assert _same(_snapshot(MODEL), BEFORE), f"{entry}/{category}: model changed"
    tally.REFUSED[entry] += 1


# -- building blocks ---------------------------------------------------------------------

junk = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.booleans(),
    st.lists(st.integers(-2, 2), max_size=3),
    st.sampled_from([object(), nn.Module, nn.Conv2d, {"a": 1}, b"xy", 1j]),
)
not_a_model = st.one_of(junk, st.sampled_from([nn.Sequential, chain_cnn, torch.zeros(3)]))
nonfinite = st.sampled_from([math.nan, math.inf, -math.inf])
fraction = st.floats(0.01, 0.99).map(lambda f: f + 0.0)


@st.composite
def bad_images(draw) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["nan", "int", "complex", "ndim", "junk", "bool"]))
    x = IMAGES[:2].clone()
    if kind == "nan":
        x[draw(st.integers(0, 1)), draw(st.integers(0, 2)), 3, 4] = draw(nonfinite)
        return kind, x
    if kind == "int":
        return kind, (x * 10).to(draw(st.sampled_from([torch.int64, torch.uint8, torch.int32])))
    if kind == "complex":
        return kind, x.to(torch.complex64)
    if kind == "bool":
        return kind, x > 0
    if kind == "ndim":
        return kind, x.reshape(-1)[: draw(st.integers(1, 50))].view(-1)
    return kind, draw(junk)


@st.composite
def bad_vectors(draw) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["nan", "complex", "1d", "3d", "junk", "empty", "bool"]))
    n, d = draw(st.integers(5, 12)), draw(st.integers(2, 5))
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(n * d))
    if kind == "nan":
        x[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = draw(nonfinite)
    elif kind == "complex":
        x = x.to(torch.complex128)
    elif kind == "1d":
        x = x[:, 0]
    elif kind == "3d":
        x = x[:, :, None]
    elif kind == "empty":
        x = x[:0]
    elif kind == "bool":
        x = x > 0
    else:
        return kind, draw(junk)
    return kind, x


# -- entry points ------------------------------------------------------------------------


def _capture_and_run(model: Any, site: Any, mode: Any = "observe") -> None:
    with capture(model, site, mode):
        model(IMAGES[:1])


@st.composite
def capture_cases(draw):
    kind = draw(st.sampled_from(["model", "site", "mode"]))
    if kind == "model":
        model = draw(not_a_model)
        return kind, lambda: _capture_and_run(model, "features.0")
    if kind == "site":
        site = draw(
            st.one_of(
                st.sampled_from(["features.99", "nope", "features.0:1", "features.0#x", "*.zz"]),
                st.integers(-3, 3),
                st.none(),
                st.floats(),
            )
        )
        return f"site {type(site).__name__}", lambda: _capture_and_run(MODEL, site)
    mode = draw(st.one_of(st.text(max_size=6), st.integers(), st.none()))
    return kind, lambda: _capture_and_run(MODEL, "features.0", mode)


@given(case=capture_cases())
@FUZZ
def test_capture(case):
    refuses("capture", case)


def _labelled(labels: torch.Tensor) -> TensorDataset:
    return TensorDataset(IMAGES[: len(labels)], labels)


@st.composite
def scan_cases(draw):
    kind = draw(
        st.sampled_from(
            ["model", "data", "images", "labels", "analyzers", "device", "batch_size", "every"]
        )
    )
    an = [ActivationStats(["features.2"])]
    run = dict(progress=False)
    if kind == "model":
        model = draw(not_a_model)
        return kind, lambda: scan(model, DATA, an, **run)
    if kind == "data":
        data = draw(st.one_of(st.none(), st.integers(), st.floats(), st.just(TensorDataset())))
        return kind, lambda: scan(MODEL, data, an, **run)
    if kind == "images":
        _, x = draw(bad_images())
        if not isinstance(x, torch.Tensor) or x.ndim == 0:
            x = [x]
        return kind, lambda: scan(MODEL, x if isinstance(x, list) else TensorDataset(x), an, **run)
    if kind == "labels":
        how = draw(st.sampled_from(["fraction", "2d", "nonfinite", "complex"]))
        if how == "fraction":
            labels = torch.tensor([0.0, 1.0, draw(fraction) + draw(st.integers(0, 3)), 2.0])
        elif how == "2d":
            labels = torch.zeros(4, draw(st.integers(1, 3)), dtype=torch.long)
        elif how == "nonfinite":
            labels = torch.tensor([0.0, draw(nonfinite), 1.0, 2.0])
        else:
            labels = torch.tensor([0, 1, 2, 0]) * 1j
        return f"labels {how}", lambda: scan(MODEL, _labelled(labels), an, batch_size=4, **run)
    if kind == "analyzers":
        bad = draw(st.one_of(junk, st.sampled_from([ActivationStats, TopActivations, []])))
        items = draw(st.sampled_from(["alone", "listed"]))
        value = [an[0], bad] if items == "listed" else bad
        if value == []:
            value = []
        return kind, lambda: scan(MODEL, DATA, value, **run)
    if kind == "device":
        device = draw(
            st.one_of(st.sampled_from(["bogus", "cuda:x", "meta", "", "gpu"]), st.floats(), junk)
        )
        if device is None or (isinstance(device, int) and not isinstance(device, bool)):
            device = "bogus"
        return kind, lambda: scan(MODEL, DATA, an, device=device, **run)
    if kind == "batch_size":
        size = draw(st.one_of(st.integers(-5, 0), st.floats(), st.text(max_size=2), st.booleans()))
        return kind, lambda: scan(MODEL, DATA, an, batch_size=size, **run)
    every = draw(st.one_of(st.integers(-5, 0), st.floats(), st.text(max_size=2)))
    path = FOLDER / "ckpt"
    return kind, lambda: scan(MODEL, DATA, an, checkpoint=path, checkpoint_every=every, **run)


@given(case=scan_cases())
@FUZZ
def test_scan(case):
    refuses("scan", case)


@st.composite
def occlusion_cases(draw):
    kind = draw(
        st.sampled_from(["model", "images", "occluder", "fill", "target", "budget", "probs"])
    )
    x, occ = IMAGES[:1], Occluder(8, 8)
    if kind == "model":
        model = draw(not_a_model)
        return kind, lambda: occlusion_sensitivity(model, x, occ, site=None)
    if kind == "images":
        _, bad = draw(bad_images())
        return kind, lambda: occlusion_sensitivity(MODEL, bad, occ, site=None)
    if kind == "occluder":
        bad = draw(junk)
        return kind, lambda: occlusion_sensitivity(MODEL, x, bad, site=None)
    if kind == "fill":
        fill = draw(
            st.one_of(nonfinite, st.tuples(st.just(0.0), nonfinite, st.just(0.0)), st.none())
        )
        return kind, lambda: Occluder(8, 8, fill=fill)
    if kind == "target":
        target = draw(
            st.one_of(
                st.floats(0.1, 4.9).filter(lambda f: f != int(f)),
                st.integers(-10, -1),
                st.integers(5, 100),
                st.text(min_size=1, max_size=2),
                st.lists(st.floats(0.1, 0.9), min_size=1, max_size=2),
            )
        )
        return kind, lambda: occlusion_sensitivity(MODEL, x, occ, site=None, target=target)
    if kind == "budget":
        budget = draw(st.one_of(st.integers(-100, 0), st.floats(), st.text(max_size=2)))
        return kind, lambda: occlusion_sensitivity(MODEL, x, occ, site=None, memory_budget=budget)
    how = draw(st.text(max_size=6).filter(lambda s: s not in ("softmax", "sigmoid", "identity")))
    return kind, lambda: occlusion_sensitivity(MODEL, x, occ, site=None, probabilities=how)


@given(case=occlusion_cases())
@FUZZ
def test_occlusion_sensitivity(case):
    refuses("occlusion_sensitivity", case)


@st.composite
def project_cases(draw):
    kind = draw(st.sampled_from(["model", "inputs", "channels", "units", "mode", "site"]))
    x = IMAGES[:1]
    if kind == "model":
        model = draw(not_a_model)
        return kind, lambda: project(model, x, "features.2", channels=[0])
    if kind == "inputs":
        _, bad = draw(bad_images())
        if isinstance(bad, torch.Tensor) and bad.ndim == 4 and not bad.is_complex():
            bad = bad.clone()
            if bad.is_floating_point():
                bad[0, 0, 0, 0] = math.nan
            else:
                bad = bad[0]  # an integer tensor without its batch axis
        return kind, lambda: project(MODEL, bad, "features.2", channels=[0])
    if kind == "channels":
        chans = draw(
            st.one_of(
                st.lists(st.floats(0.1, 5.0).filter(lambda f: f != int(f)), min_size=1, max_size=3),
                st.lists(st.integers(-9, -1), min_size=1, max_size=2),
                st.just([]),
                st.text(min_size=1, max_size=3),
            )
        )
        return kind, lambda: project(MODEL, x, "features.2", channels=chans)
    if kind == "units":
        units = draw(
            st.sampled_from(
                [torch.tensor([[0.0, 1.5, 0.0, 0.0]]), torch.zeros(2, 3, dtype=torch.long), [[0]]]
            )
        )
        return kind, lambda: project(MODEL, x, "features.2", units=units)
    if kind == "mode":
        mode = draw(st.text(max_size=5).filter(lambda s: s not in ("max", "map", "unit")))
        return kind, lambda: project(MODEL, x, "features.2", channels=[0], mode=mode)
    site = draw(st.sampled_from(["features.99", "nope", "classifier.9"]))
    return kind, lambda: project(MODEL, x, site, channels=[0])


@given(case=project_cases())
@FUZZ
def test_project(case):
    refuses("project", case)


@st.composite
def load_cases(draw):
    kind = draw(
        st.sampled_from(["random bytes", "json", "text", "empty", "truncated", "payload", "none"])
    )
    path = FOLDER / f"f{draw(st.integers(0, 10**9))}.pt"
    if kind == "random bytes":
        path.write_bytes(draw(st.binary(min_size=1, max_size=256)))
    elif kind == "json":
        path.write_text(json.dumps(draw(st.dictionaries(st.text(max_size=5), st.integers()))))
    elif kind == "text":
        path.write_text(draw(st.text(min_size=1, max_size=40)))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        good = FOLDER / "good.pt"
        if not good.exists():
            (result,) = scan(MODEL, DATA, [ActivationStats(["features.2"])], progress=False)
            result.save(good)
        data = good.read_bytes()
        path.write_bytes(data[: draw(st.integers(1, len(data) - 1))])
    elif kind == "payload":
        payload = draw(
            st.one_of(
                st.fixed_dictionaries({"format": st.integers(), "result": junk}),
                st.fixed_dictionaries(
                    {
                        "format": st.just(1),
                        "result": st.fixed_dictionaries(
                            {"__result__": st.text(max_size=8), "fields": st.just({"x": 1})}
                        ),
                    }
                ),
                st.lists(st.integers(), max_size=3),
                st.integers(),
            )
        )
        try:
            torch.save(payload, path)
        except Exception:  # noqa: BLE001 - an unpicklable draw: save something plain instead
            torch.save({"format": 1, "result": 5}, path)
    else:
        return kind, lambda: load_result(FOLDER / "missing.pt")
    return kind, lambda: load_result(path)


@given(case=load_cases())
@FUZZ
def test_load_result(case):
    refuses("load_result", case)


@st.composite
def embedding_cases(draw):
    fn = draw(st.sampled_from(["pca", "tsne", "nearest"]))
    kind = draw(st.sampled_from(["vectors", "k"]))
    if kind == "vectors":
        what, x = draw(bad_vectors())
        if fn == "pca":
            return f"pca {what}", lambda: pca(x, 2)
        if fn == "tsne":
            return f"tsne {what}", lambda: tsne(x, perplexity=1.0)
        return f"nearest {what}", lambda: nearest(x, torch.zeros(1, 3), k=2)
    x = torch.randn(12, 4, generator=torch.Generator().manual_seed(0))
    k = draw(st.one_of(st.integers(-3, 0), st.integers(13, 50), st.floats(), st.text(max_size=2)))
    if fn == "pca":
        k = k if not isinstance(k, int) or k <= 0 else 5 + k  # more components than dims
        return "pca n_components", lambda: pca(x, k)
    if fn == "tsne":
        perplexity = draw(st.one_of(st.floats(4.0, 1e6), st.floats(-10, 0), nonfinite))
        return "tsne perplexity", lambda: tsne(x, perplexity=perplexity)
    return "nearest k", lambda: nearest(x, [0], k=k)


@given(case=embedding_cases())
@FUZZ
def test_embeddings(case):
    refuses("embeddings", case)


@st.composite
def selectivity_cases(draw):
    kind = draw(st.sampled_from(["edges", "bins", "site", "labels", "threshold", "reduction"]))
    if kind == "edges":
        edges = draw(
            st.one_of(
                st.tuples(st.just(0.0), nonfinite),
                st.tuples(nonfinite, st.just(1.0)),
                st.tuples(st.floats(0, 10), st.floats(-10, 0)),
                st.sampled_from(
                    [torch.tensor([0.0, math.nan, 1.0]), torch.tensor([2.0, 1.0]), torch.ones(1)]
                ),
            )
        )
        return kind, lambda: Selectivity("features.2", edges=edges)
    if kind == "bins":
        bins = draw(st.one_of(st.integers(-5, 0), st.floats(), st.text(max_size=2)))
        return kind, lambda: Selectivity("features.2", bins=bins)
    if kind == "site":
        site = draw(st.one_of(st.integers(), st.none(), st.floats(), st.lists(st.text())))
        return kind, lambda: Selectivity(site)
    if kind == "labels":
        labels = draw(
            st.sampled_from(
                [torch.tensor([0.5, 1.0]), torch.zeros(3, 2, dtype=torch.long), torch.ones(2) > 0]
            )
        )
        return kind, lambda: Selectivity("features.2", labels=labels)
    if kind == "threshold":
        value = draw(st.one_of(nonfinite, st.text(max_size=2), st.none()))
        return kind, lambda: Selectivity("features.2", active_threshold=value)
    reduction = draw(
        st.text(max_size=6).filter(lambda s: s not in ("mean", "max", "sum", "flatten"))
    )
    return kind, lambda: Selectivity("features.2", reduction=reduction)


@given(case=selectivity_cases())
@FUZZ
def test_selectivity(case):
    refuses("Selectivity", case)


def test_counts_reach_a_thousand():
    """Runs last in this file: the suite above generated at least 1,000 bad inputs."""
    if len(tally.TRIED) < 7:
        pytest.skip("run with the whole fuzz file to count")
    assert sum(tally.TRIED.values()) >= 1000, dict(tally.TRIED)
    assert tally.REFUSED == tally.TRIED


def teardown_module() -> None:
    for path in FOLDER.iterdir():
        path.unlink()
    os.rmdir(FOLDER)
