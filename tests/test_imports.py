"""The package's import structure: every module imports on its own (no cycles, no reliance
on another module having been imported first), no public name shadows a module of its
package, and ``import interpret`` leaves the analyzer packages for their first use."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import interpret

ROOT = Path(interpret.__file__).resolve().parent

# Imported once by the parent that forks a child per module, so that a child pays only
# for ``interpret`` itself. They are outside ``interpret``, so they cannot hide a cycle.
PRELOAD = ("torch", "torchvision", "numpy", "PIL.Image", "matplotlib", "pandas", "timm")

# Forks one child per module from a parent that never imported ``interpret``: each child
# imports its module first, as a fresh interpreter would. Writes {module: error or ""}.
FORK_EACH = r"""
import importlib, json, os, sys, traceback
names, out = json.loads(sys.argv[1]), sys.argv[2]
for lib in json.loads(sys.argv[3]):
    try:
        importlib.import_module(lib)
    except ImportError:
        pass
assert not any(m.split(".")[0] == "interpret" for m in sys.modules)
errors = {}
for name in names:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            importlib.import_module(name)
            message = ""
        except BaseException:
            message = traceback.format_exc()
        os.write(w, message.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    errors[name] = message or ("" if status == 0 else f"child exited with status {status}")
with open(out, "w") as f:
    json.dump(errors, f)
"""


def _walk(path: Path, prefix: str) -> list[tuple[str, bool]]:
    """``(module name, is package)`` under ``path``, found without importing anything."""
    found = []
    for info in pkgutil.iter_modules([str(path)], prefix + "."):
        found.append((info.name, info.ispkg))
        if info.ispkg:
            found += _walk(path / info.name.rsplit(".", 1)[-1], info.name)
    return found


MODULES = ["interpret"] + sorted(name for name, _ in _walk(ROOT, "interpret"))
PACKAGES = ["interpret"] + sorted(name for name, ispkg in _walk(ROOT, "interpret") if ispkg)


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))


def _selected(request: pytest.FixtureRequest) -> list[str]:
    """The modules whose test runs in this session (all of them unless ``-k`` picks)."""
    return [
        item.callspec.params["module"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_module_imports_alone"
        and hasattr(item, "callspec")
    ]


@pytest.fixture(scope="module")
def import_errors(request: pytest.FixtureRequest, tmp_path_factory) -> dict[str, str]:
    names = _selected(request) or MODULES
    if not hasattr(os, "fork"):  # one interpreter per module: slower, the same check
        errors = {}
        for name in names:
            run = subprocess.run(
                [sys.executable, "-c", f"import {name}"],
                env=_env(),
                capture_output=True,
                text=True,
                timeout=300,
            )
            errors[name] = "" if run.returncode == 0 else run.stderr
        return errors
    out = tmp_path_factory.mktemp("imports") / "errors.json"
    run = subprocess.run(
        [sys.executable, "-c", FORK_EACH, json.dumps(names), str(out), json.dumps(PRELOAD)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(out.read_text())


def test_the_walk_finds_every_module() -> None:
    files = {
        ".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in ROOT.rglob("*.py")
        if (p.parent / "__init__.py").is_file()
    }
    assert set(MODULES) == files
    assert {"interpret.neurons.maximization.run", "interpret.neurons.selectivity.result"} <= files


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module: str, import_errors: dict[str, str]) -> None:
    assert import_errors[module] == "", (
        f"import {module} in a fresh interpreter:\n" + (import_errors[module])
    )


# Older rooms whose function hides its module (``interpret.core.scan`` is the function):
# known, listed so that no new one appears; remove an entry when its module is renamed.
KNOWN_SHADOWED = {
    "interpret.core": {"capture", "feature_sites", "scan"},
    "interpret.deconvnet": {"evolution", "project"},
    "interpret.embeddings": {"pca", "tsne"},
    "interpret.models": {"zfnet"},
}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_public_name_shadows_a_module_of_its_package(package: str) -> None:
    """``interpret.neurons.maximize`` is the function; no ``maximize.py`` beside it. A
    package may export its subpackages (``interpret.occlusion``), nothing else by their
    names."""
    pkg = importlib.import_module(package)
    modules = {info.name for info in pkgutil.iter_modules(pkg.__path__)}
    public = set(getattr(pkg, "__all__", ()))
    shadowed = {
        name
        for name in public & modules
        if getattr(pkg, name) is not importlib.import_module(f"{package}.{name}")
    }
    known = KNOWN_SHADOWED.get(package, set())
    assert shadowed == known, f"{package}: public names that hide a module: {sorted(shadowed)}"


def test_neurons_rooms_and_their_public_names() -> None:
    import interpret.neurons as neurons
    import interpret.neurons.maximization as maximization
    import interpret.neurons.selectivity as selectivity

    assert set(neurons.__all__) == set(maximization.__all__) | set(selectivity.__all__)
    for name in neurons.__all__:
        assert getattr(neurons, name) is getattr(
            maximization if name in maximization.__all__ else selectivity, name
        )
    assert callable(neurons.maximize) and not isinstance(neurons.maximize, type(neurons))
    assert callable(neurons.sparsity) and not isinstance(neurons.sparsity, type(neurons))


# --- lazy subpackages ---------------------------------------------------------------

LAZY = r"""
import json, sys, time
t0 = time.perf_counter()
import interpret
t1 = time.perf_counter()
loaded = sorted({m.split(".")[1] for m in sys.modules if m.startswith("interpret.")})
heavy = [m for m in ("torchvision", "timm", "pandas", "matplotlib", "sklearn") if m in sys.modules]
for name in interpret._SUBPACKAGES:
    getattr(interpret, name)
t2 = time.perf_counter()
print(json.dumps({"interpret": t1 - t0, "all": t2 - t0, "loaded": loaded, "heavy": heavy}))
"""


def test_subpackages_listed_are_the_packages_on_disk() -> None:
    on_disk = {info.name for info in pkgutil.iter_modules(interpret.__path__) if info.ispkg}
    assert set(interpret._SUBPACKAGES) == on_disk
    assert set(interpret._SUBPACKAGES) <= set(interpret.__all__)
    assert set(interpret._SUBPACKAGES) <= set(dir(interpret))


def test_import_interpret_leaves_the_analyzers_for_later() -> None:
    """In a fresh interpreter ``import interpret`` loads the core only, and costs less
    than importing every subpackage (measured in the same process, one after the other,
    so that the load of the machine shifts both alike)."""
    run = subprocess.run(
        [sys.executable, "-c", LAZY], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    times = json.loads(run.stdout.strip().splitlines()[-1])
    assert times["loaded"] == ["core"], times["loaded"]
    assert times["heavy"] == [], times["heavy"]
    rest = times["all"] - times["interpret"]
    assert times["interpret"] < times["all"] and rest > 0.1 * times["interpret"], times


def test_analyzer_packages_are_attributes_of_interpret() -> None:
    code = (
        "import sys, interpret\n"
        "assert 'interpret.occlusion' not in sys.modules\n"
        "f = interpret.occlusion.occlusion_sensitivity\n"
        "assert 'interpret.occlusion' in sys.modules and callable(f)\n"
        "assert interpret.neurons.maximize is interpret.neurons.maximization.maximize\n"
        "try:\n"
        "    interpret.no_such_package\n"
        "except AttributeError as err:\n"
        "    assert 'no_such_package' in str(err)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
        "from interpret import *\n"
        "assert deconvnet is interpret.deconvnet\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
