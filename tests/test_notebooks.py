"""Every tutorial notebook runs top to bottom (nbclient, the venv's python3 kernel), as
JupyterLab runs it (no ``MPLBACKEND`` set), and every figure it shows is a picture."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
FAST: set[str] = set()  # every notebook takes over 20 s (a fresh kernel loads torch)
ALL = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


FIGURE_TEXT = re.compile(r"<\w*Figure size [\d.]+x[\d.]+ with \d+ Axes>")


def _shown(outputs: list[Any]) -> list[dict]:
    return [o["data"] for o in outputs if o["output_type"] in ("display_data", "execute_result")]


def _is_image(data: dict) -> bool:
    return "image/png" in data or "<img" in data.get("text/html", "")


def figures_without_image(nb: Any) -> list[str]:
    """The text of every shown output that is a figure (or holds one) but has no picture."""
    return [
        data.get("text/plain", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for data in _shown(cell.outputs)
        if FIGURE_TEXT.search(data.get("text/plain", "")) and not _is_image(data)
    ]


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
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel picks its own, as in Jupyter
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(env_dir)}}
    )
    client.execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Every library figure shows as a picture; each notebook shows some.
    assert figures_without_image(nb) == []
    images = [sum(_is_image(d) for d in _shown(c.outputs)) for c in code]
    assert any(_shown(c.outputs) for c in code), f"{name} shows nothing"
    if name != "00_quickstart.ipynb":  # the quickstart shows tables, a card and Markdown
        assert sum(images) >= 2, f"{name} shows {sum(images)} pictures"
    # Once: no cell shows two pictures (the inline backend's auto-show would add one).
    assert max(images) <= 1, [c.source[:60] for c, n in zip(code, images) if n > 1]
    streams = "".join(o.get("text", "") for c in code for o in c.outputs)
    assert "IProgress" not in streams and "ipywidgets" not in streams
    # Each tutorial ends with its "on your own model" cell, which shows something.
    assert "On your own model" in nb.cells[-2].source and "my_model" in code[-1].source
    assert _shown(code[-1].outputs), f"{name}: the own-model cell shows nothing"


def test_a_text_only_figure_fails_the_check_and_a_library_figure_passes() -> None:
    # Negative control: IPython's own formatter on the minimal case gives
    # text/plain only, and the check catches it; a library figure carries image/png.
    import nbformat
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.figure import Figure

    from interpret.core.figures import new_figure

    bare = Figure()
    bare.add_subplot().plot([1, 2])
    fig, ax = new_figure(figsize=(2, 2), with_axes=True)
    ax.plot([1, 2])
    cells = []
    for figure in (bare, fig):
        data, _ = DisplayFormatter().format(figure)
        # bytes travel base64-encoded, as ipykernel sends them
        data = {
            k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in data.items()
        }
        cell = nbformat.v4.new_code_cell("figure")
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    assert figures_without_image(nb) == [repr(bare)]
    nb.cells = cells[1:]
    assert figures_without_image(nb) == []
    # a figure inside a shown tuple counts too
    nb.cells = [nbformat.v4.new_code_cell("(fig, fig)")]
    text = f"({bare!r}, {bare!r})"
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": text})]
    assert figures_without_image(nb) == [text]
