"""Deconvnet top-9 on the main model: switches where the path is a chain, else gradients."""

from __future__ import annotations

from typing import Any

from interpret.deconvnet import TopActivations, choose_route, project_top
from interpret.report.sections import register
from interpret.report.sections._common import ROUTE_WHY, choose_channels, display_inverse
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params

PAPER = (
    "Zeiler & Fergus (2013), Visualizing and Understanding Convolutional Networks, Fig. 2 "
    "(arXiv:1311.2901)"
)


def top_figures(ctx: Any, source: str, result: Bundle, what: str) -> list[Figure]:
    """One Fig.-2 block per site: projections beside their image patches."""
    from interpret.deconvnet.plot import plot_top

    inverse = display_inverse(ctx.source(source).model.preprocess)
    figures = []
    for site, proj in result.parts.items():
        fig = plot_top(proj, inverse=inverse, blocks_per_row=2)
        names = ctx.source(source).data.item_names
        first = [names[int(i)] for i in proj.image_index[:, 0].tolist() if int(i) >= 0]
        figures.append(
            Figure(
                f"{what}: top-{proj.values.shape[1]} activations at {site}",
                fig,
                f"For each of {len(proj.channels)} channels (chosen at random among those that "
                f"fire) the {proj.values.shape[1]} strongest activations over the data, each "
                "from a different image, projected to pixel space (left) beside the image patch "
                f"(right). Route: {proj.route}, because {ROUTE_WHY.get(proj.route, '-')}; "
                f"windows: {proj.window}. Strongest images: {', '.join(dict.fromkeys(first))}.",
            )
        )
    return figures


def top_table(ctx: Any, source: str, result: Bundle) -> Table:
    names = ctx.source(source).data.item_names
    rows = []
    for site, proj in result.parts.items():
        for c, channel in enumerate(proj.channels.tolist()):
            index = int(proj.image_index[c, 0])
            rows.append(
                [site, channel, float(proj.values[c, 0]), names[index] if index >= 0 else "-"]
            )
    return Table(
        "Strongest activation per channel shown", ["site", "channel", "activation", "image"], rows
    )


@register
class DeconvnetSection(Section):
    name = "deconvnet"
    title = "Deconvnet: top activations and their projections"
    paper = PAPER
    description = (
        "Which inputs drive a unit: the strongest activations of a channel over the whole "
        "dataset (found in the one shared scan), each projected back to pixel space with "
        "the deconvnet. Where the path to the site is a chain (VGG, AlexNet, a Sequential "
        "CNN) the deconvnet walks it backwards layer by layer, unpooling with the "
        "max-pooling switches of each image, and the windows are the units' exact "
        "receptive fields; elsewhere (ResNets, Inception, EfficientNet) it takes the "
        "gradient route, autograd with rectified backward signals, which unpools through "
        "the same switches. Each figure says which route it took."
    )
    defaults: dict[str, Any] = {"sites": None, "k": 9, "channels": 4, "route": "auto"}
    version = 2

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        if params["sites"] is None:
            params["sites"] = ctx.pick_sites("main", (0.17, 0.5))
        elif isinstance(params["sites"], str):
            params["sites"] = [params["sites"]]
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        return {"main": [TopActivations(site, k=params["k"]) for site in params["sites"]]}

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        src = ctx.source("main")
        parts = {}
        for i, top in enumerate(streamed["main"]):
            channels = choose_channels(top.values, params["channels"], ctx.generator(i))
            with ctx.stage(f"project {top.site}"):
                parts[top.site] = project_top(
                    src.model.model,
                    src.data.dataset,
                    top,
                    channels=channels,
                    route=choose_route(src.model.model, top.site, params["route"]),
                    functional="rectify",
                )
        return Bundle(parts)

    def figures(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Figure]:
        return top_figures(ctx, "main", result, ctx.source("main").model.name)

    def tables(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Table]:
        return [top_table(ctx, "main", result)]

    def notes(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[str]:
        from interpret.deconvnet.plot import CONTRAST_NOTE

        return [CONTRAST_NOTE]
