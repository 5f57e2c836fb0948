"""``load_result``: anything that is not an interpret result is a ValueError naming the
file and what was found; a saved result loads in a fresh interpreter with no imports;
files are written with the permissions of a plain write."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
import torch

from interpret import scan
from interpret.core.results import FORMAT_VERSION, load_result
from interpret.neurons import Selectivity
from interpret.testing import chain_cnn


@pytest.fixture(scope="module")
def selectivity():
    gen = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(
        torch.randn(12, 3, 21, 17, generator=gen), torch.arange(12) % 3
    )
    (result,) = scan(chain_cnn(), data, [Selectivity("features.5", classes=3)], progress=False)
    return result


def _write(path, content: bytes) -> str:
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"", "an empty file"),
        (os.urandom(256), "unknown bytes|text starting|a pickle"),
        (json.dumps({"format": 1, "result": 5}).encode(), "JSON"),
        (b"hello, world\n", "text starting 'hello"),
    ],
)
def test_files_that_are_no_result_name_the_file_and_what_was_found(tmp_path, content, found):
    path = _write(tmp_path / "x.pt", content)
    with pytest.raises(ValueError, match=found) as info:
        load_result(path)
    assert path in str(info.value) and "not a result saved by interpret" in str(info.value)


def test_truncated_and_foreign_payloads_are_refused(tmp_path, selectivity):
    good = selectivity.save(tmp_path / "good.pt")
    data = good.read_bytes()
    cut = _write(tmp_path / "cut.pt", data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.pt.*(truncated|damaged)"):
        load_result(cut)
    cases = {
        "five.pt": ({"format": FORMAT_VERSION, "result": 5}, "holding a int"),
        "list.pt": ([1, 2], "found a list"),
        "dict.pt": ({"weights": torch.ones(2)}, "found a dict with keys"),
        "nested.pt": (
            {"format": 1, "result": {"__result__": "SiteStats", "fields": {"x": 1}}},
            "SiteStats with fields",
        ),
        "unknown.pt": (
            {"format": 1, "result": {"__result__": "Nope", "module": "os", "fields": {}}},
            "'Nope' from module 'os', which is not defined",
        ),
    }
    for name, (payload, found) in cases.items():
        torch.save(payload, tmp_path / name)
        with pytest.raises(ValueError, match=found) as info:
            load_result(tmp_path / name)
        assert name in str(info.value)


def test_another_format_version_names_both(tmp_path):
    torch.save({"format": 7, "result": {}}, tmp_path / "v7.pt")
    with pytest.raises(ValueError, match=f"format version 7; .* format version {FORMAT_VERSION}"):
        load_result(tmp_path / "v7.pt")


def test_nested_result_loads_in_a_fresh_interpreter_without_imports(tmp_path, selectivity):
    path = selectivity.save(tmp_path / "sel.pt")
    code = (
        "import sys; from interpret.core.results import load_result\n"
        f"r = load_result({str(path)!r})\n"
        "print(type(r).__name__, sorted(m for m in sys.modules if 'selectivity' in m))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("SelectivityResult"), out.stdout
    assert "interpret.neurons.selectivity.stats" in out.stdout  # nested types, imported


def test_saved_files_get_the_umask_permissions(tmp_path, selectivity):
    old = os.umask(0o022)
    try:
        path = selectivity.save(tmp_path / "shared.pt")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.chmod(path, 0o664)  # an existing file keeps its mode, as with a plain write
        selectivity.save(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o664
    finally:
        os.umask(old)


def _strip_modules(value):
    if isinstance(value, dict):
        return {k: _strip_modules(v) for k, v in value.items() if k != "module"}
    if isinstance(value, list):
        return [_strip_modules(v) for v in value]
    return value


def test_file_saved_before_modules_were_recorded_loads_in_a_fresh_interpreter(
    tmp_path, selectivity
):
    path = selectivity.save(tmp_path / "sel.pt")
    payload = torch.load(path, weights_only=True)
    torch.save(_strip_modules(payload), path)
    code = (
        "from interpret.core.results import load_result\n"
        f"print(type(load_result({str(path)!r})).__name__)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SelectivityResult"


def _recorded_modules(value, rename=None) -> set[str]:
    """Every module a saved payload records; with ``rename``, rewritten in place."""
    found = set()
    if isinstance(value, dict):
        if "__result__" in value:
            if rename is not None:
                value["module"] = rename.get(value["module"], value["module"])
            found.add(value["module"])
        for v in value.values():
            found |= _recorded_modules(v, rename)
    elif isinstance(value, list):
        for v in value:
            found |= _recorded_modules(v, rename)
    return found


def test_files_saved_before_the_neurons_rooms_still_load(tmp_path, selectivity):
    from interpret.core.results import MOVED_MODULES

    payload = torch.load(selectivity.save(tmp_path / "new.pt"), weights_only=True)
    old_name = {new: old for old, new in MOVED_MODULES.items()}
    old = _recorded_modules(payload, rename=old_name)
    assert {"interpret.neurons.selectivity_result", "interpret.neurons.selectivity_stats"} <= old
    assert "interpret.neurons.sparsity" in old
    torch.save(payload, tmp_path / "old.pt")
    loaded = load_result(tmp_path / "old.pt")
    assert type(loaded) is type(selectivity)
    assert torch.equal(loaded.hist, selectivity.hist)
    assert loaded.per_class.classifier.threshold.equal(selectivity.per_class.classifier.threshold)
