"""A report a person can read from a :class:`SelectivityResult` (Markdown text)."""

from __future__ import annotations

from interpret.neurons.selectivity_result import GroupSelectivity, SelectivityResult

__all__ = ["selectivity_summary"]


def _group_table(group: GroupSelectivity, n: int) -> list[str]:
    title = "Class" if group.kind == "class" else "Attribute"
    lines = [
        f"| {title} | images | rest | best neurons (balanced accuracy) | excitatory | inhibitory |",
        "|---|---:|---:|---|---:|---:|",
    ]
    counts = group.label_counts()
    for g, name in enumerate(group.names):
        neurons, acc = group.best(g, n)
        best = ", ".join(
            f"#{int(j)} {float(a):.1%}{'+' if int(group.classifier.direction[g, j]) > 0 else '-'}"
            for j, a in zip(neurons, acc)
        )
        lines.append(
            f"| {name} | {int(group.count[g])} | {int(group.rest_count[g])} | {best} | "
            f"{int(counts[g, 0])} | {int(counts[g, 2])} |"
        )
    rule = group.rule
    lines.append("")
    lines.append(
        f"Best neurons: `+` fires for the {group.kind} (x >= threshold), `-` is silent for it. "
        f"Balanced accuracy: mean of the hit rates on the {group.kind} and on the rest, at the "
        "best threshold (bin edges). Labels: excitatory if "
        f">= {rule.fraction:.0%} of the {group.kind}'s images are above the "
        f"{rule.percentile:.0%} quantile of the rest (inhibitory: below the "
        f"{1 - rule.percentile:.0%} quantile), quantiles rounded outwards to bin edges."
    )
    return lines


def selectivity_summary(result: SelectivityResult, n: int = 3) -> str:
    """Markdown: the site, sparsity, then per class / attribute the ``n`` best neurons with
    their single-neuron balanced accuracy and the numbers of excitatory / inhibitory
    neurons; a warning when many values fell outside the histogram edges."""
    lines = [
        f"## Selectivity of `{result.site}`",
        "",
        f"{result.num_neurons} neurons (reduction: {result.reduction}) over "
        f"{result.num_images} images; {result.edges.shape[1] - 1} bins per neuron "
        f"({result.edges_source} edges).",
        "",
        f"Sparsity: {result.sparsity.summary()}.",
    ]
    outside = result.outside_fraction
    wide = int((outside > 0.05).sum())
    if wide:
        lines += [
            "",
            f"Warning: for {wide} neurons more than 5% of the values fell outside the "
            "histogram edges (thresholds there are lost); give wider edges.",
        ]
    for group in (result.per_class, result.per_attribute):
        if group is not None:
            lines += ["", *_group_table(group, n)]
    return "\n".join(lines) + "\n"
