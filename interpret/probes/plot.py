"""Figure for layer-wise linear probes (Zeiler & Fergus Table 7 as bars)."""

from __future__ import annotations

from typing import Any

from interpret.probes.fit import ProbeResult

__all__ = ["plot_probes"]


def plot_probes(result: ProbeResult, *, ax: Any = None, show_train: bool = True) -> Any:
    """Held-out accuracy per site as bars with ± std over folds, chance as a dashed line.

    Parameters
    ----------
    result:
        From :func:`~interpret.probes.fit_probes` or :func:`~interpret.probes.layer_probes`.
    ax:
        A matplotlib Axes to draw on; default a new figure.
    show_train:
        Mark the mean training accuracy of each site with a short black tick (a large gap
        to the bar shows over-fitting).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from interpret.core.figures import figure_of

    fig, ax = figure_of(ax, figsize=(1.0 + 0.9 * len(result.sites), 3.2), layout="constrained")
    positions = list(range(len(result.sites)))
    mean = (100 * result.accuracy_mean).tolist()
    std = (100 * result.accuracy_std).tolist()
    bars = ax.bar(positions, mean, yerr=std, capsize=3, color="tab:blue", alpha=0.85)
    for bar, m, s in zip(bars, mean, std):
        ax.annotate(
            f"{m:.1f}±{s:.1f}",
            (bar.get_x() + bar.get_width() / 2, m + s),
            ha="center",
            va="bottom",
            fontsize=7,
            xytext=(0, 2),
            textcoords="offset points",
        )
    if show_train:
        train = (100 * result.train_accuracy.mean(dim=1)).tolist()
        ax.scatter(positions, train, marker="_", s=200, color="black", label="train", zorder=3)
    ax.axhline(100 * result.chance, ls="--", color="gray", lw=1, label="chance")
    ax.set_xticks(positions, list(result.sites), rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("accuracy (%)")
    name = "softmax" if result.classifier == "logistic" else "linear SVM"
    ax.set_title(f"Linear probes ({name}, {result.folds}-fold CV, pool={result.pool})", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    return fig
