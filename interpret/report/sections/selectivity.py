"""Neuron selectivity: faces vs non-faces and digits (DeepID2+, Sun, Wang & Tang 2015)."""

from __future__ import annotations

from typing import Any

from interpret.neurons import Selectivity
from interpret.report.sections import register
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params

PAPER = (
    "Sun, Wang & Tang (2015), Deeply learned face representations are sparse, selective, "
    "and robust (DeepID2+), Sec. 5, Figs. 6-8"
)


@register
class SelectivityFaces(Section):
    name = "selectivity"
    title = "Neuron selectivity"
    paper = PAPER
    description = (
        "How single neurons respond across classes: per neuron and class, histograms of the "
        "activation on that class's images against the rest, the single-neuron threshold "
        "classifier (balanced accuracy), and excitatory / inhibitory labels. Run on faces "
        "versus non-faces (the LFW subset bundled with scikit-image) for the main model, and "
        "on the ten digit classes for ZFNet."
    )
    defaults: dict[str, Any] = {
        "site": None,
        "digits_site": "classifier.5",
        "bins": 64,
        "faces": True,
    }

    @property
    def sources(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("faces", "digits")

    def skip_reason(self, ctx: Any) -> str | None:
        faces = ctx.has_rgb_model() and self.params(ctx)["faces"]
        if not faces and not ctx.config.digits:
            return "needs a three-channel model (faces) or the digits part"
        return None

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        params["faces"] = bool(params["faces"]) and ctx.has_rgb_model()
        if params["site"] is None and params["faces"]:
            params["site"] = ctx.pick_sites("main", (1.0,))[0]
        params["digits"] = bool(ctx.config.digits)
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        if params["faces"]:
            out["faces"] = [
                Selectivity(params["site"], classes=["non-face", "face"], bins=params["bins"])
            ]
        if params["digits"]:
            out["digits"] = [
                Selectivity(
                    params["digits_site"], classes=[str(d) for d in range(10)], bins=params["bins"]
                )
            ]
        return out

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        parts = {}
        if "faces" in streamed:
            parts["faces"] = streamed["faces"][0]
        if "digits" in streamed:
            parts["digits"] = streamed["digits"][0]
        return Bundle(parts)

    def figures(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Figure]:
        from interpret.neurons.plot import (
            plot_best_neurons,
            plot_class_means,
            plot_label_map,
            plot_neuron_histograms,
        )

        figures = []
        for part, res in result.parts.items():
            who = (
                f"{ctx.source('main').model.name} on faces vs non-faces"
                if part == "faces"
                else "ZFNet on digits"
            )
            group = "face" if part == "faces" else res.classes.names[0]
            figures.append(
                Figure(
                    f"{who}: mean activation per neuron ({res.site})",
                    plot_class_means(res, group),
                    f"Each neuron's mean on the '{group}' images against the "
                    "rest (DeepID2+ Fig. 6).",
                )
            )
            best, _ = res.classes.best(group, n=4)
            figures.append(
                Figure(
                    f"{who}: histograms of the most selective neurons",
                    plot_neuron_histograms(res, best.tolist(), group),
                    f"Activation histograms on '{group}' images against the "
                    "rest, for the four neurons that separate them best "
                    "(DeepID2+ Fig. 7).",
                )
            )
            if part == "digits":
                figures.append(
                    Figure(
                        f"{who}: excitatory / inhibitory labels",
                        plot_label_map(res),
                        "Neurons x classes: green excitatory, red inhibitory "
                        "(DeepID2+ Fig. 8 rule).",
                    )
                )
                figures.append(
                    Figure(
                        f"{who}: best single neuron per class",
                        plot_best_neurons(res),
                        "Balanced accuracy of the best threshold classifier "
                        "on one neuron, per class.",
                    )
                )
        return figures

    def tables(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Table]:
        rows = []
        for part, res in result.parts.items():
            for name in res.classes.names:
                neurons, scores = res.classes.best(name, n=1)
                rows.append([part, res.site, name, int(neurons[0]), float(scores[0])])
        return [
            Table(
                "Best single neuron per class",
                ["data", "site", "class", "neuron", "balanced accuracy"],
                rows,
            )
        ]
