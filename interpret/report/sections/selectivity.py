"""Neuron selectivity on the data's classes and attributes (DeepID2+, Sun, Wang & Tang 2015)."""

from __future__ import annotations

from typing import Any

import torch

from interpret.neurons import Selectivity
from interpret.report.sections import register
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params

PAPER = (
    "Sun, Wang & Tang (2015), Deeply learned face representations are sparse, selective, "
    "and robust (DeepID2+), Sec. 5, Figs. 6-8"
)


def _attributes(ctx: Any) -> dict[str, torch.Tensor] | None:
    """The data's attribute columns, ``name -> (num_images,)``, if it has any."""
    data = ctx.source("main").data
    names = getattr(data, "attributes", None)
    table = getattr(data.dataset, "attributes", None)
    if not names or table is None:
        return None
    table = torch.as_tensor(table)
    return {name: table[:, j] for j, name in enumerate(names)}


@register
class SelectivitySection(Section):
    name = "selectivity"
    title = "Neuron selectivity"
    paper = PAPER
    description = (
        "How single neurons respond across the data's classes: per neuron and class, "
        "histograms of the activation on that class's images against the rest, the "
        "single-neuron threshold classifier (balanced accuracy), and excitatory / "
        "inhibitory labels. With attribute columns in the labels file, the same per "
        "attribute (images with it against images without)."
    )
    defaults: dict[str, Any] = {"site": None, "bins": 64, "digits_site": "classifier.5"}
    version = 2

    @property
    def sources(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("main", "faces", "digits")

    def _parts(self, ctx: Any) -> list[str]:
        parts = []
        if ctx.class_skip_reason("main", needs="labels") is None or _attributes(ctx):
            parts.append("main")
        if ctx.config.wants("faces") and ctx.has_rgb_model():
            parts.append("faces")
        if ctx.config.wants("digits"):
            parts.append("digits")
        return parts

    def skip_reason(self, ctx: Any) -> str | None:
        if self._parts(ctx):
            return None
        return ctx.class_skip_reason("main", needs="labels")

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        params["parts"] = self._parts(ctx)
        if params["site"] is None:
            params["site"] = ctx.pick_sites("main", (1.0,))[0]
        params["classes"] = list(ctx.data_classes("main"))
        attributes = _attributes(ctx)
        params["attributes"] = sorted(attributes) if attributes else []
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        bins = params["bins"]
        if "main" in params["parts"]:
            labelled = len(params["classes"]) >= 2
            out["main"] = [
                Selectivity(
                    params["site"],
                    classes=params["classes"] if labelled else None,
                    labels=None if labelled else _no_labels(ctx),
                    attributes=_attributes(ctx),
                    bins=bins,
                )
            ]
        if "faces" in params["parts"]:
            out["faces"] = [Selectivity(params["site"], classes=["non-face", "face"], bins=bins)]
        if "digits" in params["parts"]:
            digits = [str(d) for d in range(10)]
            out["digits"] = [Selectivity(params["digits_site"], classes=digits, bins=bins)]
        return out

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        return Bundle({part: streamed[part][0] for part in params["parts"]})

    def _who(self, ctx: Any, part: str) -> str:
        if part == "faces":
            return f"{ctx.source('main').model.name} on faces vs non-faces"
        if part == "digits":
            return "ZFNet on digits"
        src = ctx.source("main")
        return f"{src.model.name} on {src.data.name}"

    def figures(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Figure]:
        from interpret.neurons.selectivity.plot import (
            plot_best_neurons,
            plot_class_means,
            plot_label_map,
            plot_neuron_histograms,
        )

        figures = []
        for part, res in result.parts.items():
            who = self._who(ctx, part)
            for kind in ("class", "attribute"):
                stats = res.per_class if kind == "class" else res.per_attribute
                if stats is None:
                    continue
                group = "face" if part == "faces" else stats.names[0]
                what = "classes" if kind == "class" else "attributes"
                figures.append(
                    Figure(
                        f"{who}: mean activation per neuron, {what} ({res.site})",
                        plot_class_means(res, group, kind=kind),
                        f"Each neuron's mean on the '{group}' images against the rest "
                        "(DeepID2+ Fig. 6).",
                    )
                )
                best, _ = stats.best(group, n=4)
                figures.append(
                    Figure(
                        f"{who}: histograms of the neurons most selective for '{group}'",
                        plot_neuron_histograms(res, best.tolist(), group, kind=kind),
                        f"Activation histograms on '{group}' images against the rest, for the "
                        "four neurons that separate them best (DeepID2+ Fig. 7).",
                    )
                )
                if len(stats.names) > 2 or kind == "attribute":
                    figures.append(
                        Figure(
                            f"{who}: excitatory / inhibitory labels, {what}",
                            plot_label_map(res, kind=kind),
                            f"Neurons x {what}: green excitatory, red inhibitory "
                            "(DeepID2+ Fig. 8 rule).",
                        )
                    )
                    figures.append(
                        Figure(
                            f"{who}: best single neuron per {kind}",
                            plot_best_neurons(res, kind=kind),
                            "Balanced accuracy of the best threshold classifier on one "
                            f"neuron, per {kind}.",
                        )
                    )
        return figures

    def tables(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Table]:
        rows = []
        for part, res in result.parts.items():
            for kind, stats in (("class", res.per_class), ("attribute", res.per_attribute)):
                if stats is None:
                    continue
                for name in stats.names:
                    neurons, scores = stats.best(name, n=1)
                    rows.append(
                        [self._who(ctx, part), res.site, kind, name, int(neurons[0]),
                         float(scores[0])]
                    )  # fmt: skip
        return [
            Table(
                "Best single neuron per class and attribute",
                ["model and data", "site", "kind", "group", "neuron", "balanced accuracy"],
                rows,
            )
        ]


def _no_labels(ctx: Any) -> torch.Tensor:
    """All-unlabelled labels (attributes only)."""
    return torch.full((len(ctx.source("main").data.item_names),), -1, dtype=torch.int64)
