"""Occlusion sensitivity of one image (Zeiler & Fergus 2013, Fig. 7 b, d, e)."""

from __future__ import annotations

from typing import Any

from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.report.sections import register
from interpret.report.sections._common import display_inverse
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params


def _image_index(names: tuple[str, ...], wanted: Any) -> int:
    if isinstance(wanted, int):
        if not 0 <= wanted < len(names):
            raise ValueError(
                f"occlusion image index {wanted} is out of range (0..{len(names) - 1})."
            )
        return wanted
    if wanted is None:
        return names.index("chelsea") if "chelsea" in names else 0
    if wanted not in names:
        raise ValueError(f"No image named {wanted!r} in the data; give a name or an index.")
    return names.index(wanted)


@register
class OcclusionSection(Section):
    name = "occlusion"
    title = "Occlusion sensitivity"
    paper = "Zeiler & Fergus (2013), Sec. 4.2 and Fig. 7 (b), (d), (e)"
    description = (
        "Which parts of the image the decision depends on: a grey square is slid over the "
        "image and, at every position, the network is run again. Maps show (b) the total "
        "activation of the strongest feature map of a deep layer, (d) the probability of "
        "the correct class and (e) the most probable class, each as a function of where "
        "the square is."
    )
    defaults: dict[str, Any] = {
        "image": None,
        "window": 48,
        "stride": 16,
        "fill": "gray",
        "site": "auto",
        "target": None,
        "incremental": False,
        "route": "auto",
    }

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        names = ctx.source("main").data.item_names
        params["image"] = names[_image_index(names, params["image"])]
        return params

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        from interpret.occlusion import project_feature

        src = ctx.source("main")
        image = self._image(ctx, params)[None].to(ctx.device)
        target = params["target"]
        if target is None:
            _, label = src.data.dataset[src.data.item_names.index(params["image"])]
            target = label if isinstance(label, int) and label >= 0 else None
        result = occlusion_sensitivity(
            src.model.model,
            image,
            Occluder(params["window"], params["stride"], fill=params["fill"]),
            target=target,
            site=params["site"],
            top_n=3,
            incremental=params["incremental"],
        )
        parts: dict[str, Any] = {"occlusion": result}
        route = params["route"]
        if route == "auto" and result.feature_site is not None:
            from interpret.deconvnet import choose_route

            # Panel (c) only where the paper's walk applies: a gradient-route projection of
            # a deep map of a large network is mostly texture and says little here.
            route = choose_route(src.model.model, result.feature_site, "auto")
            route = route if route == "reverse" else "none"
        if result.feature_site is not None and route != "none":
            parts["projection"] = project_feature(src.model.model, image, result, route=route)
        return Bundle(parts)

    def _image(self, ctx: Any, params: dict[str, Any]) -> Any:
        src = ctx.source("main")
        image, _ = src.data.dataset[src.data.item_names.index(params["image"])]
        return image

    def figures(self, ctx: Any, params: dict[str, Any], bundle: Bundle) -> list[Figure]:
        from interpret.occlusion.plot import plot_sensitivity

        result = bundle.parts["occlusion"]
        image = self._image(ctx, params)
        target = int(result.target[0])
        caption = (
            f"Image {params['image']!s}; occluder {result.window[0]}x{result.window[1]} "
            f"({result.fill}), stride {result.stride[0]}; (a) the occluder where (d) is "
            f"lowest. Target class: {ctx.class_name('main', target)} (clean probability "
            f"{float(result.clean_target_prob[0]):.2f}). (c) the deconvnet projection of "
            "the feature map of (b), seeded at its strongest activation (drawn for chain "
            "networks, or with route='gradient')."
        )
        fig = plot_sensitivity(
            result,
            image[None],
            labels=ctx.source("main").model.class_names,
            projection=bundle.parts.get("projection"),
            to_display=display_inverse(ctx.source("main").model.preprocess),
        )
        return [Figure("Occlusion maps (Fig. 7)", fig, caption)]

    def tables(self, ctx: Any, params: dict[str, Any], bundle: Bundle) -> list[Table]:
        import torch

        result = bundle.parts["occlusion"]
        names = ctx.source("main").model.class_names
        labels, counts = torch.unique(result.top_label[0], return_counts=True)
        order = counts.argsort(descending=True)[:5]
        rows = [
            [
                names[int(labels[i])] if names else int(labels[i]),
                int(counts[i]),
                float(counts[i]) / result.top_label[0].numel(),
            ]
            for i in order
        ]
        return [
            Table(
                "Most probable class over occluder positions (e)",
                ["class", "positions", "fraction"],
                rows,
            )
        ]
