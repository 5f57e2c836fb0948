"""Occlusion sensitivity of one image (Zeiler & Fergus 2013, Fig. 7 b, d, e)."""

from __future__ import annotations

from typing import Any

from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.report.sections import register
from interpret.report.sections.base import Figure, Section, Table, check_params


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
    }

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        names = ctx.source("main").data.item_names
        params["image"] = names[_image_index(names, params["image"])]
        return params

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Any:
        src = ctx.source("main")
        index = src.data.item_names.index(params["image"])
        image, label = src.data.dataset[index]
        target = params["target"]
        if target is None and isinstance(label, int) and label >= 0:
            target = label
        return occlusion_sensitivity(
            src.model.model,
            image[None].to(ctx.device),
            Occluder(params["window"], params["stride"], fill=params["fill"]),
            target=target,
            site=params["site"],
            top_n=3,
            incremental=params["incremental"],
        )

    def _image(self, ctx: Any, params: dict[str, Any]) -> Any:
        src = ctx.source("main")
        image, _ = src.data.dataset[src.data.item_names.index(params["image"])]
        return image

    def figures(self, ctx: Any, params: dict[str, Any], result: Any) -> list[Figure]:
        names = ctx.source("main").model.class_names
        image = self._image(ctx, params)
        inverse = ctx.source("main").model.preprocess
        target = int(result.target[0])
        caption = (
            f"Image {params['image']!s}; occluder {result.window[0]}x{result.window[1]} "
            f"({result.fill}), stride {result.stride[0]}. Target class: "
            f"{ctx.class_name('main', target)} (clean probability "
            f"{float(result.clean_target_prob[0]):.2f})."
        )
        try:
            from interpret.occlusion.plot import plot_occlusion
        except ImportError:
            plot_occlusion = None
        if plot_occlusion is not None:
            fig = plot_occlusion(result, image=inverse.to_image(image), class_names=names)
        else:
            fig = _draw(result, inverse.to_image(image), names)
        return [Figure("Occlusion maps (Fig. 7)", fig, caption)]

    def tables(self, ctx: Any, params: dict[str, Any], result: Any) -> list[Table]:
        import torch

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


def _draw(result: Any, image: Any, names: Any) -> Any:
    """Fig. 7 (a, b, d, e) for one image, used when the occlusion package has no plot."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
    axes[0].imshow(image)
    axes[0].set_title("(a) input")
    extent = _extent(result)
    panels = [
        (1, result.feature_total, "(b) feature map total", "viridis"),
        (2, result.target_prob, "(d) p(correct class)", "magma"),
    ]
    for col, grid, title, cmap in panels:
        ax = axes[col]
        if grid is None:
            ax.axis("off")
            continue
        ax.imshow(image, alpha=0.35)
        im = ax.imshow(grid[0].float().numpy(), cmap=cmap, extent=extent, alpha=0.8)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, fraction=0.046)
    top = result.top_label[0].numpy()
    classes, inverse_idx = np.unique(top, return_inverse=True)
    ax = axes[3]
    ax.imshow(inverse_idx.reshape(top.shape), cmap="tab10", extent=extent, vmin=0, vmax=9)
    ax.set_title("(e) most probable class")
    handles = [plt.Rectangle((0, 0), 1, 1, color=plt.cm.tab10(i % 10)) for i in range(len(classes))]
    labels = [(names[c] if names else str(c))[:18] for c in classes]
    ax.legend(handles[:6], labels[:6], fontsize=6, loc="lower left", framealpha=0.8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def _extent(result: Any) -> tuple[float, float, float, float]:
    h, w = result.image_size
    return (0, w, h, 0)
