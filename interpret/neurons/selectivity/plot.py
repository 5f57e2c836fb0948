"""Figures for selectivity results (DeepID2+, Sun, Wang & Tang, CVPR 2015, Figs. 6-9).

Every function takes a result (and optionally where to draw), returns the matplotlib
Figure and computes nothing the result does not already hold. matplotlib is imported
inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from interpret.neurons.selectivity.result import GroupSelectivity, SelectivityResult
from interpret.neurons.selectivity.sparseness import SparsityResult

__all__ = [
    "plot_class_means",
    "plot_neuron_histograms",
    "plot_label_map",
    "plot_sparsity",
    "plot_best_neurons",
]

EXC_COLOR, INH_COLOR = "tab:green", "tab:red"


def _group(result: SelectivityResult | GroupSelectivity, kind: str) -> GroupSelectivity:
    if isinstance(result, GroupSelectivity):
        return result
    if not isinstance(result, SelectivityResult):
        raise TypeError(f"Expected a SelectivityResult, got {type(result).__name__}.")
    return result.group(kind)


def _new_axes(fig: Any, ncols: int, nrows: int = 1, **kw: Any) -> tuple[Any, Any]:
    from interpret.core.figures import new_figure

    if fig is None:
        fig = new_figure(
            figsize=kw.pop("figsize", (4.5 * ncols, 3.2 * nrows)), layout="constrained"
        )
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def plot_class_means(
    result: SelectivityResult,
    group: int | str,
    *,
    kind: str = "class",
    fig: Any = None,
) -> Any:
    """DeepID2+ style: every neuron's mean activation on the group's images, neurons
    sorted by it (left), and the same neurons' mean on the remaining images (right).
    Excitatory neurons are marked with green triangles up, inhibitory with red down."""
    sel = _group(result, kind)
    g = sel.group_index(group)
    mean, rest = sel.mean[g], sel.rest_mean[g]
    order = torch.sort(mean.nan_to_num(float("-inf")), descending=True, stable=True).indices
    labels = sel.labels.sign[g, order]
    rank = torch.arange(len(order))
    fig, axes = _new_axes(fig, 2, sharey=True)
    name = sel.names[g]
    for ax, values, title in (
        (axes[0, 0], mean[order], f"{name}"),
        (axes[0, 1], rest[order], f"remaining images (not {name})"),
    ):
        ax.plot(rank.numpy(), values.numpy(), color="0.3", lw=1)
        for lab, color, marker, text in (
            (1, EXC_COLOR, "^", "excitatory"),
            (-1, INH_COLOR, "v", "inhibitory"),
        ):
            hit = labels == lab
            ax.scatter(
                rank[hit].numpy(),
                values[hit].numpy(),
                s=14,
                color=color,
                marker=marker,
                label=f"{text} ({int(hit.sum())})",
                zorder=3,
            )
        ax.set_title(title)
        ax.set_xlabel(f"neuron (sorted by mean on {name})")
    axes[0, 0].set_ylabel("mean activation")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    return fig


def plot_neuron_histograms(
    result: SelectivityResult,
    neurons: Sequence[int],
    group: int | str,
    *,
    kind: str = "class",
    fig: Any = None,
    ncols: int = 4,
) -> Any:
    """Per neuron, the activation histogram of the group's images against the rest
    (shares of each set per bin), the best threshold as a dashed line. Values outside
    the edges are reported in the panel (under / over)."""
    sel = _group(result, kind)
    g = sel.group_index(group)
    neurons = [int(j) for j in neurons]
    if not neurons:
        raise ValueError("Give at least one neuron.")
    bad = [j for j in neurons if not 0 <= j < result.num_neurons]
    if bad:
        raise ValueError(f"Neurons {bad} out of range (the site has {result.num_neurons}).")
    cols = min(ncols, len(neurons))
    rows = -(-len(neurons) // cols)
    fig, axes = _new_axes(fig, cols, rows, figsize=(3.2 * cols, 2.6 * rows))
    names = {1: "excitatory", -1: "inhibitory", 0: "uncertain"}
    for ax in axes.flat[len(neurons) :]:
        ax.set_visible(False)
    for ax, j in zip(axes.flat, neurons):
        edges = result.edges[j]
        for counts, n, color, text in (
            (sel.hist[g, j], sel.count[g], "tab:blue", sel.names[g]),
            (sel.rest_hist[g, j], sel.rest_count[g], "0.5", "rest"),
        ):
            share = counts.double() / max(int(n), 1)
            ax.stairs(
                share[1:-1].numpy(),
                edges.numpy(),
                color=color,
                fill=color != "0.5",
                alpha=0.6,
                label=text,
            )
        thr = float(sel.classifier.threshold[g, j])
        ax.axvline(thr, color="k", ls="--", lw=1)
        under = (sel.hist[g, j, 0] + sel.rest_hist[g, j, 0]).item()
        over = (sel.hist[g, j, -1] + sel.rest_hist[g, j, -1]).item()
        if under or over:
            ax.text(
                0.98,
                0.95,
                f"under {under}, over {over}",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=7,
            )
        lab = int(sel.labels.sign[g, j])
        ax.set_title(
            f"neuron {j}: {float(sel.classifier.balanced_accuracy[g, j]):.1%}, {names[lab]}",
            fontsize=9,
            color={1: EXC_COLOR, -1: INH_COLOR, 0: "k"}[lab],
        )
        ax.set_xlabel("activation", fontsize=8)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    axes.flat[0].set_ylabel("share of images")
    return fig


def plot_label_map(
    result: SelectivityResult,
    *,
    kind: str = "class",
    sort: bool = True,
    ax: Any = None,
) -> Any:
    """Neurons (rows) x groups (columns): excitatory green, inhibitory red, uncertain
    white. With ``sort`` the neurons are ordered by their label pattern (most
    excitatory first), so neurons with the same tuning sit together."""
    from matplotlib.colors import ListedColormap

    from interpret.core.figures import figure_of

    sel = _group(result, kind)
    labels = sel.labels.sign.T.to(torch.float64)  # (D, G)
    order = torch.arange(labels.shape[0])
    if sort:
        weights = 3.0 ** torch.arange(labels.shape[1] - 1, -1, -1, dtype=torch.float64)
        key = ((labels + 1) * weights).sum(1)
        order = torch.sort(key, descending=True, stable=True).indices
    size = (1.0 + 0.45 * labels.shape[1], 4.5)
    _, ax = figure_of(ax, figsize=size, layout="constrained")
    cmap = ListedColormap([INH_COLOR, "white", EXC_COLOR])
    image = ax.imshow(
        labels[order].numpy(),
        cmap=cmap,
        vmin=-1.5,
        vmax=1.5,
        aspect="auto",
        interpolation="nearest",
    )
    long_names = max(len(str(n)) for n in sel.names) > 3  # digits stay upright
    rotation = 90 if len(sel.names) > 6 else (45 if long_names else 0)
    ax.set_xticks(
        range(len(sel.names)),
        sel.names,
        rotation=rotation,
        ha="right" if rotation == 45 else "center",
    )
    if len(order) <= 40:
        ax.set_yticks(range(len(order)), [str(int(j)) for j in order], fontsize=7)
    ax.set_ylabel("neuron (sorted by label pattern)" if sort else "neuron")
    ax.set_xlabel(sel.kind)
    bar = ax.figure.colorbar(image, ax=ax, ticks=[-1, 0, 1], fraction=0.08)
    bar.ax.set_yticklabels(["inhibitory", "uncertain", "excitatory"])
    ax.set_title(f"{result.site}: neuron labels")
    return ax.figure


def plot_sparsity(
    result: SelectivityResult | SparsityResult, *, bins: int = 20, fig: Any = None
) -> Any:
    """Two histograms (DeepID2+ Fig. 6): the share of neurons active per image, and the
    share of images on which each neuron is active; dashed lines at the means."""
    sp = result.sparsity if isinstance(result, SelectivityResult) else result
    if not isinstance(sp, SparsityResult):
        raise TypeError(
            f"Expected a SelectivityResult or SparsityResult, got {type(result).__name__}."
        )
    fig, axes = _new_axes(fig, 2)
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    left, right = axes[0, 0], axes[0, 1]
    per_image = sp.neurons_per_image.double()
    left.hist(
        sp.fraction_per_image.numpy(),
        bins=edges.numpy(),
        weights=per_image.numpy(),
        color="tab:blue",
    )
    left.axvline(sp.mean_active_per_image, color="k", ls="--", lw=1)
    left.set_xlabel("share of neurons active")
    left.set_ylabel("images")
    left.set_title(f"per image (mean {sp.mean_active_per_image:.1%})")
    right.hist(sp.fraction_per_neuron.numpy(), bins=edges.numpy(), color="tab:orange")
    right.axvline(sp.mean_images_per_neuron, color="k", ls="--", lw=1)
    right.set_xlabel("share of images where active")
    right.set_ylabel("neurons")
    right.set_title(f"per neuron (mean {sp.mean_images_per_neuron:.1%})")
    return fig


def plot_best_neurons(result: SelectivityResult, *, kind: str = "class", ax: Any = None) -> Any:
    """Per group, the balanced accuracy of its best single neuron (bar, neuron id on top)."""
    from interpret.core.figures import figure_of

    sel = _group(result, kind)
    best = [sel.best(g, 1) for g in range(len(sel.names))]
    acc = [float(a[0]) for _, a in best]
    fig, ax = figure_of(ax, figsize=(1.0 + 0.5 * len(acc), 3.2), layout="constrained")
    bars = ax.bar(range(len(acc)), acc, color="tab:blue")
    for bar, (neuron, _) in zip(bars, best):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height(),
            f"#{int(neuron[0])}",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xticks(range(len(acc)), sel.names, rotation=90 if len(acc) > 6 else 0)
    ax.set_ylim(0.5, 1.05)
    ax.set_ylabel("best single-neuron balanced accuracy")
    ax.set_title(f"{result.site}: best neuron per {sel.kind}")
    return ax.figure
