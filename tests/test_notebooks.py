"""Every tutorial notebook runs top to bottom (nbclient, the venv's python3 kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
FAST: set[str] = set()  # every notebook takes over 20 s (a fresh kernel loads torch)
ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def _params() -> list:
    return [
        pytest.param(name, marks=() if name in FAST else pytest.mark.slow, id=name[:-6])
        for name in ALL
    ]


def test_every_analyzer_has_a_notebook() -> None:
    assert ALL == [
        "00_quickstart.ipynb",
        "01_deconvnet.ipynb",
        "02_occlusion.ipynb",
        "03_activation_maximization.ipynb",
        "04_selectivity.ipynb",
        "05_embeddings.ipynb",
        "06_invariance_probes_filters.ipynb",
    ]


def test_notebooks_are_committed_without_outputs() -> None:
    import nbformat

    for name in ALL:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name


def test_notebooks_match_their_generator() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", NOTEBOOKS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import nbformat

    for name, cells in module.NOTEBOOKS.items():
        on_disk = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        assert [c.source for c in on_disk.cells] == [src for _, src in cells], name


@pytest.mark.parametrize("name", _params())
def test_notebook_runs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    env_dir = tmp_path / "cwd"
    env_dir.mkdir()
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(env_dir)}}
    )
    client.execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    # Results show inline: every notebook displays at least one figure or table.
    shown = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type in ("display_data", "execute_result")
    ]
    assert shown, f"{name} displays nothing"
