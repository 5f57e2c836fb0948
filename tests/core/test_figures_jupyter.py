"""Library figures show as pictures in Jupyter, once, with or without pyplot (issue #22)."""

from __future__ import annotations

import ast
import base64
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import Tensor

import interpret
from interpret.core import Result
from interpret.core.figures import InlineFigure, figure_of, new_figure
from interpret.deconvnet import layer_filters
from interpret.deconvnet.plot import plot_filters
from interpret.filters import filter_health, plot_filter_rms
from interpret.testing import chain_cnn

PACKAGE = Path(interpret.__file__).parent
PLOT_MODULES = sorted(PACKAGE.rglob("plot*.py")) + [PACKAGE / "core" / "figures.py"]


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_every_plot_module_is_found() -> None:
    names = {p.parent.name + "/" + p.name for p in PLOT_MODULES}
    assert {"deconvnet/plot.py", "maximization/plot.py", "selectivity/plot.py"} <= names
    assert len(PLOT_MODULES) >= 9


@pytest.mark.parametrize("path", PLOT_MODULES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_plot_modules_never_import_pyplot(path: Path) -> None:
    # pyplot would register the figure with its manager (the inline backend then shows it
    # a second time at the end of the cell) and select a backend in scripts.
    tree = ast.parse(path.read_text())
    imported = [
        alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert not [name for name in imported if "pyplot" in name], imported
    assert not [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "plt"]


def test_minimal_case_through_a_library_plot_gives_png() -> None:
    # The minimal case, `display(fig)` of a bare Figure, formats to text/plain only;
    # a library figure formats to a PNG through IPython's own display formatter.
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.figure import Figure

    bare = Figure()
    bare.add_subplot().plot([1, 2])
    data, _ = DisplayFormatter().format(bare)
    assert set(data) == {"text/plain"}  # the cause the issue names

    fig = plot_filters(layer_filters(chain_cnn()))
    assert isinstance(fig, InlineFigure)
    data, _ = DisplayFormatter().format(fig)
    assert "image/png" in data, sorted(data)
    width, height = _png_size(data["image/png"])
    assert width > 100 and height > 40
    assert re.match(r"<InlineFigure size [\d.]+x[\d.]+ with \d+ Axes>", data["text/plain"])


def test_formerly_pyplot_plot_gives_png_and_is_not_managed_by_pyplot() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = plot_filter_rms(filter_health(chain_cnn(), "features.0"))
    assert isinstance(fig, InlineFigure)
    assert plt.get_fignums() == before  # nothing for an inline backend to show again
    _png_size(fig._repr_png_())


def test_new_figure_and_figure_of() -> None:
    fig, ax = new_figure(figsize=(2, 1), with_axes=True)
    assert isinstance(fig, InlineFigure) and fig.axes == [ax]
    assert tuple(fig.get_size_inches()) == (2, 1)
    same, same_ax = figure_of(ax, figsize=(9, 9))
    assert same is fig and same_ax is ax
    with pytest.raises(ValueError, match="figsize"):
        new_figure(figsize=(0, 1))


def test_result_card_holds_summary_numbers_and_main_figure() -> None:
    health = filter_health(chain_cnn(), "features.0")
    card = health._repr_html_()
    match = re.search(r"src='data:image/png;base64,([^']+)'", card)
    assert match, card[:300]
    _png_size(base64.b64decode(match.group(1)))
    assert "FilterHealthResult" in card and "<code>rms</code>" in card
    # key numbers, not only shapes: ranges of large tensors, values of small ones, counts
    low, high = float(health.weights.min()), float(health.weights.max())
    assert f"float32, range [{low:.4g}, {high:.4g}]" in card
    assert f"{round(float(health.rms[0]), 4)}, " in card
    assert f"bool, {int(health.dominating.sum())} true" in card
    assert f"<td>{health.median_rms:.6g}</td>" in card
    fig = health.plot(columns=3)
    assert isinstance(fig, InlineFigure) and len(fig.axes) >= 6


@dataclass(frozen=True)
class _Plain(Result):
    values: Tensor
    name: str

    def summary(self) -> str:
        return f"{self.name}: mean {float(self.values.mean()):.3g}"


def test_result_without_main_figure_has_a_card_without_image_and_plot_says_so() -> None:
    result = _Plain(torch.tensor([1.0, 2.5]), "<b>")
    card = result._repr_html_()
    assert "<img" not in card and "&lt;b&gt;" in card
    assert "[1.0, 2.5]" in card
    assert re.search(r"<pre[^>]*>&lt;b&gt;: mean 1.75</pre>", card)  # summary() first
    with pytest.raises(TypeError, match="no main figure"):
        result.plot()


NOTEBOOK_CELLS = [
    # 0: the minimal case of the issue, a bare Figure: text only (the cause)
    "from matplotlib.figure import Figure\nf = Figure(); f.add_subplot().plot([1, 2]); display(f)",
    # 1: set-up, without pyplot
    "import sys\n"
    "from interpret.testing import chain_cnn\n"
    "from interpret.deconvnet import layer_filters\n"
    "from interpret.deconvnet.plot import plot_filters\n"
    "from interpret.filters import filter_health, plot_filter_rms\n"
    "model = chain_cnn(); health = filter_health(model, 'features.0')",
    # 2: a library figure as the cell's value
    "plot_filters(layer_filters(model))",
    # 3: display() of a library figure, and still no pyplot
    "display(plot_filters(layer_filters(model)))\nassert 'matplotlib.pyplot' not in sys.modules",
    # 4: after pyplot is imported (inline backend active), a formerly-pyplot function
    "import matplotlib.pyplot as plt\nplot_filter_rms(health)",
    # 5: a result as the cell's value: its card
    "health",
    # 6: result.plot()
    "health.plot()",
    # 7: progress bar with ipywidgets: a widget
    "from interpret.core.progress import progress_bar\n"
    "bar = progress_bar(total=2, desc='widget'); bar.update(2); bar.close()",
    # 8: progress bar without ipywidgets: text, no warning
    "sys.modules['ipywidgets'] = None\n"
    "bar = progress_bar(total=2, desc='text'); bar.update(2); bar.close()",
]


@pytest.mark.slow
def test_in_a_fresh_kernel_figures_show_once_as_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ipywidgets")
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("MPLBACKEND", raising=False)  # as JupyterLab starts a kernel
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [c.outputs for c in nb.cells]
    assert not [o for out in outputs for o in out if o.output_type == "error"], outputs

    def shown(i: int) -> list[dict]:
        return [o.data for o in outputs[i] if o.output_type in ("display_data", "execute_result")]

    assert [sorted(d) for d in shown(0)] == [["text/plain"]]
    for i in (2, 3, 4, 6):  # exactly one picture each: no duplicate from the inline backend
        assert [("image/png" in d) for d in shown(i)] == [True], (i, shown(i))
        _png_size(base64.b64decode(shown(i)[0]["image/png"]))
    (card,) = shown(5)
    assert "<img src='data:image/png;base64," in card["text/html"]
    (widget,) = shown(7)
    assert "application/vnd.jupyter.widget-view+json" in widget
    streams = "".join(
        o.get("text", "") for out in outputs for o in out if o.output_type == "stream"
    )
    assert "IProgress" not in streams
    text_bar = "".join(o.get("text", "") for o in outputs[8] if o.output_type == "stream")
    assert "text: 100%" in text_bar and not shown(8)
