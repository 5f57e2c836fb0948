"""Deconvnet top-9 on the main model: switches where the path is a chain, else gradients.

A network without max pooling has no switches to carry the image into a deconvnet
projection; there the section shows guided backpropagation of the same units beside it.
"""

from __future__ import annotations

from typing import Any

from interpret.deconvnet import TopActivations, project_top
from interpret.report.sections import register
from interpret.report.sections._common import (
    ROUTE_WHY,
    choose_channels,
    display_inverse,
    has_max_pooling,
)
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params

PAPER = (
    "Zeiler & Fergus (2013), Visualizing and Understanding Convolutional Networks, Fig. 2 "
    "(arXiv:1311.2901)"
)


GUIDED = "guided:"
"""Bundle key prefix of the guided-backpropagation twin of a site's top-k."""

WHY_GUIDED = (
    "Why they differ: without max pooling there are no switches to carry the image into "
    "the deconvnet, so its projections are largely image-agnostic (Mahendran & Vedaldi "
    "2016); guided backpropagation (Springenberg et al. 2015) also applies each forward "
    "ReLU's mask and brings the image back."
)
SPECIFICITY = (
    "Image specificity: per channel, the mean over its top-9 of the cosine similarity of "
    "a projection with its own (mean-centred) patch minus that with the other eight "
    "patches; about 0 when the nine projections are one picture."
)


def _specificity(proj: Any) -> str:
    return f"{float(proj.specificity.nanmean()):.3f}"


def top_figures(ctx: Any, source: str, result: Bundle, what: str) -> list[Figure]:
    """One Fig.-2 block per site: projections beside their image patches; where a guided
    twin was computed (no max pooling), the deconvnet and guided side by side."""
    from interpret.deconvnet.plot import plot_top, plot_top_pair

    inverse = display_inverse(ctx.source(source).model.preprocess)
    figures = []
    for site, proj in result.parts.items():
        if site.startswith(GUIDED):
            continue
        names = ctx.source(source).data.item_names
        first = [names[int(i)] for i in proj.image_index[:, 0].tolist() if int(i) >= 0]
        k = proj.values.shape[1]
        common = (
            f"For each of {len(proj.channels)} channels (chosen at random among those that "
            f"fire) the {k} strongest activations over the data, each from a different "
            "image, projected to pixel space (left) beside the image patch (right). Route: "
            f"{proj.route}, because {ROUTE_WHY.get(proj.route, '-')}; windows: "
            f"{proj.window}. Strongest images: {', '.join(dict.fromkeys(first))}. "
        )
        guided = result.parts.get(GUIDED + site)
        if guided is None:
            fig = plot_top(proj, inverse=inverse, blocks_per_row=2)
            caption = f"{common}Image specificity {_specificity(proj)}. {SPECIFICITY}"
            figures.append(Figure(f"{what}: top-{k} activations at {site}", fig, caption))
            continue
        fig = plot_top_pair(proj, guided, inverse=inverse)
        caption = (
            f"{common}Left the deconvnet (image specificity {_specificity(proj)}), right "
            f"guided backpropagation of the same units (image specificity "
            f"{_specificity(guided)}). {WHY_GUIDED} {SPECIFICITY}"
        )
        title = f"{what}: top-{k} activations at {site}, deconvnet and guided backpropagation"
        figures.append(Figure(title, fig, caption))
    return figures


def top_table(ctx: Any, source: str, result: Bundle) -> Table:
    names = ctx.source(source).data.item_names
    rows = []
    for site, proj in result.parts.items():
        if site.startswith(GUIDED):
            continue
        guided = result.parts.get(GUIDED + site)
        for c, channel in enumerate(proj.channels.tolist()):
            index = int(proj.image_index[c, 0])
            rows.append(
                [
                    site,
                    channel,
                    float(proj.values[c, 0]),
                    names[index] if index >= 0 else "-",
                    round(float(proj.specificity[c]), 3),
                    "-" if guided is None else round(float(guided.specificity[c]), 3),
                ]
            )
    columns = ["site", "channel", "activation", "image", "specificity", "guided specificity"]
    return Table("Strongest activation per channel shown", columns, rows)


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
        "the same switches. Each figure says which route it took. A network without max "
        "pooling has no switches, and its deconvnet projections are largely the same "
        "picture whatever the image (Mahendran & Vedaldi 2016); there guided "
        "backpropagation (Springenberg et al. 2015) of the same units is shown beside "
        "them, each with its image specificity."
    )
    defaults: dict[str, Any] = {
        "sites": None,
        "k": 9,
        "channels": 4,
        "route": "auto",
        "guided": "auto",
    }
    version = 3

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
        model = src.model.model
        if params["guided"] not in ("auto", True, False):
            raise ValueError(
                f"deconvnet: guided must be 'auto', true or false, not {params['guided']!r}."
            )
        guided = params["guided"] is True or (
            params["guided"] == "auto" and not has_max_pooling(model)
        )
        parts = {}
        for i, top in enumerate(streamed["main"]):
            channels = choose_channels(top.values, params["channels"], ctx.generator(i))
            rules = ("deconvnet", "guided") if guided else ("deconvnet",)
            for rule in rules:
                with ctx.stage(f"project {top.site} ({rule})"):
                    key = top.site if rule == "deconvnet" else GUIDED + top.site
                    parts[key] = project_top(
                        model, src.data.dataset, top, channels=channels, route=params["route"],
                        rule=rule, functional="rectify",
                    )  # fmt: skip
        return Bundle(parts)

    def figures(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Figure]:
        return top_figures(ctx, "main", result, ctx.source("main").model.name)

    def tables(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Table]:
        return [top_table(ctx, "main", result)]

    def notes(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[str]:
        from interpret.deconvnet.plot import CONTRAST_NOTE

        return [CONTRAST_NOTE, SPECIFICITY]
