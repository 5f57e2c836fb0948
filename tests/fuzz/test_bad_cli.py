"""Property-based: bad input to the ``interpret`` command and to ``maximize``.

The command must answer every generated bad command line with status 2, exactly one line
``interpret: error: ...`` on stderr and nothing written; ``maximize`` must raise
``ValueError``/``TypeError`` with a message and leave the model as it was.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import tally
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bad_inputs import MODEL, refuses

from interpret.neurons.maximization.objectives import channel, class_logit
from interpret.neurons.maximization.presets import preset
from interpret.neurons.maximization.run import maximize
from interpret.report.cli import main

CLI = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
ROOT = Path(tempfile.mkdtemp(prefix="interpret-fuzz-cli-"))
PHOTOS = ROOT / "photos"
PHOTOS.mkdir()
(PHOTOS / "a.png").write_bytes(b"not a png at all")  # an unreadable image
(ROOT / "labels.csv").write_text("path,label\nmissing1.png,cat\nmissing2.png,dog\n")
(ROOT / "weights.pt").write_bytes(b"\x00garbage")
UNWRITABLE = ROOT / "labels.csv" / "report"  # under a file: the OS refuses (also for root)
BASE = ["--model", "interpret.testing:chain_cnn", "--image-size", "32", "-q"]


@st.composite
def bad_command_lines(draw) -> tuple[str, list[str]]:
    kind = draw(
        st.sampled_from(
            ["model", "data", "device", "max-images", "set", "analyzers", "weights", "extras",
             "unreadable", "labels", "unwritable", "image"]
        )
    )  # fmt: skip
    out = str(ROOT / f"out-{draw(st.integers(0, 10**6))}")
    text = draw(st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=3, max_size=8))
    if kind == "model":
        return kind, ["report", out, "--model", f"no_such_{text}", "-q"]
    if kind == "data":
        return kind, ["report", out, *BASE, "--data", str(ROOT / f"nowhere-{text}")]
    if kind == "device":
        device = draw(st.sampled_from([text, "cuda:99", "meta", "gpu", "cuda:x"]))
        return kind, ["report", out, *BASE, "--device", device]
    if kind == "max-images":
        count = str(draw(st.integers(-5, 0)))
        return kind, ["report", out, *BASE, "--data", str(PHOTOS), "--max-images", count]
    if kind == "set":
        item = draw(st.sampled_from([text, f"{text}.x=1", f"deconvnet.{text}=2", "=3"]))
        return kind, ["report", out, *BASE, "--set", item]
    if kind == "analyzers":
        return kind, ["report", out, *BASE, "--analyzers", f"summary,no_such_{text}"]
    if kind == "weights":
        weights = draw(st.sampled_from([str(ROOT / "weights.pt"), str(ROOT / f"{text}.pt")]))
        return kind, ["report", out, *BASE, "--weights", weights]
    if kind == "extras":
        return kind, ["report", out, *BASE, "--extras", text]
    if kind == "unreadable":
        return kind, ["report", out, *BASE, "--data", str(PHOTOS)]
    if kind == "labels":
        return kind, ["report", out, *BASE, "--data", str(ROOT / "labels.csv")]
    if kind == "unwritable":
        return kind, ["report", str(UNWRITABLE / text), *BASE, "--analyzers", "summary"]
    return kind, ["occlusion", str(ROOT / f"{text}.jpg"), *BASE, "-o", str(ROOT / "o.png")]


@given(case=bad_command_lines())
@CLI
def test_command_line(case, capsys) -> None:
    kind, argv = case
    tally.TRIED["cli"] += 1
    tally.CATEGORIES[("cli", kind)] += 1
    before = sorted(p.name for p in ROOT.iterdir())
    capsys.readouterr()
    status = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2, (kind, argv, err)
    assert len(err) == 1 and err[0].startswith("interpret: error: "), (kind, err)
    assert sorted(p.name for p in ROOT.iterdir()) == before, f"{kind}: something was written"
    tally.REFUSED["cli"] += 1


@st.composite
def maximize_cases(draw) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["units", "objective", "normalize", "config", "size", "seed"]))
    small = preset("plain", size=16, steps=2)
    run = dict(normalize=None, config=small)
    if kind == "units":
        units = draw(st.sampled_from([[1.5], [-1], [99], [], 0.5, "x", [True]]))
        return kind, lambda: maximize(MODEL, channel("features.2", units), **run)
    if kind == "objective":
        objective = draw(st.sampled_from([None, 3, "features.2", lambda acts: acts]))
        return kind, lambda: maximize(MODEL, objective, **run)
    if kind == "normalize":
        value = draw(st.sampled_from([math.nan, math.inf]))
        norm = ((value, 0.0, 0.0), (1.0, 1.0, 1.0))
        return kind, lambda: maximize(MODEL, class_logit(0), normalize=norm, config=small)
    if kind == "config":
        config = draw(st.sampled_from([3, "no-such-preset", {"steps": 2}, object()]))
        return kind, lambda: maximize(MODEL, class_logit(0), normalize=None, config=config)
    if kind == "size":
        size = draw(st.sampled_from([0, -4, 2.5]))
        return kind, lambda: maximize(MODEL, class_logit(0), normalize=None,
                                      config=preset("plain", size=size, steps=2))  # fmt: skip
    seed = draw(st.sampled_from([1.5, "a", [0, "b"], [0.5], None]))
    return kind, lambda: maximize(MODEL, class_logit(0), seed=seed, **run)


@given(case=maximize_cases())
@CLI
def test_maximize(case) -> None:
    refuses("maximize", case)
