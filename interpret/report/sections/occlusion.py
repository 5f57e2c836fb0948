"""Occlusion sensitivity of informative images (Zeiler & Fergus 2013, Fig. 7 b-e)."""

from __future__ import annotations

from typing import Any

import torch

from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.report.predictions import Predictions, informative_images
from interpret.report.sections import register
from interpret.report.sections._capped import CAPPED_WHY, capped_rectifier_input
from interpret.report.sections._common import (
    GUIDED_WHY,
    ROUTE_WHY,
    display_inverse,
    has_max_pooling,
    stack_items,
)
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params


def _item_index(names: tuple[str, ...], wanted: Any) -> int:
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        if not 0 <= wanted < len(names):
            raise ValueError(
                f"occlusion image index {wanted} is out of range (0..{len(names) - 1})."
            )
        return wanted
    if not isinstance(wanted, str) or wanted not in names:
        raise ValueError(
            f"occlusion: no image named {wanted!r} in the data; give file names or indices."
        )
    return names.index(wanted)


@register
class OcclusionSection(Section):
    name = "occlusion"
    title = "Occlusion sensitivity"
    paper = "Zeiler & Fergus (2013), Sec. 4.2 and Fig. 7"
    description = (
        "Which parts of the image the decision depends on: a grey square is slid over the "
        "image and, at every position, the network is run again. Maps show (b) the total "
        "activation of the strongest feature map of a deep layer, (c) that map projected to "
        "pixels, (d) the probability of the target class and (e) the most probable class, "
        "each as a function of where the square is. Images are chosen from the data: per "
        "class, one the model gets right with the highest confidence and one it gets wrong "
        "(mapped for its true class and for the class it predicts). On the bundled sample "
        "photos, the photos whose object does not fill the frame (coffee, rocket), each "
        "mapped for its labelled class, with the object's box drawn: covering the object "
        "should lower the class's probability more than covering anything else."
    )
    defaults: dict[str, Any] = {
        "images": None,
        "max_images": 8,
        "window": None,
        "stride": None,
        "fill": "gray",
        "site": "auto",
        "target": None,
        "incremental": True,  # exact (tested to 1e-4); the bundled Lite0 sweeps ~4x faster
        "route": "auto",
    }
    version = 7

    def skip_reason(self, ctx: Any) -> str | None:
        return ctx.class_skip_reason("main", needs="outputs")

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        names = ctx.source("main").data.item_names
        images = params["images"]
        if images is not None:
            images = [images] if isinstance(images, (str, int)) else list(images)
            params["images"] = [names[_item_index(names, item)] for item in images]
        if params["route"] not in ("auto", "reverse", "gradient"):
            raise ValueError(
                f"occlusion route must be 'auto', 'reverse' or 'gradient', not {params['route']!r}."
            )
        params["label_outputs"] = ctx.label_outputs("main")
        side = min(ctx.source("main").data.dataset[0][0].shape[-2:])
        if params["window"] is None:  # the paper's 48 px of 224, at any input size
            params["window"] = max(4, round(side * 48 / 224))
        if params["stride"] is None:
            params["stride"] = max(1, round(params["window"] / 3))
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        if params["images"] is not None or _boxed_photos(ctx):
            return {}
        return {"main": [Predictions(params["label_outputs"])]}

    def _choose(self, ctx: Any, params: dict[str, Any], streamed: dict) -> list[tuple]:
        names = list(ctx.source("main").data.item_names)
        boxed = _boxed_photos(ctx)
        if params["images"] is None and boxed:
            return [(names.index(n), t, "object in a box") for n, t in boxed.items()]
        if params["images"] is not None:
            target = params["target"]
            return [(names.index(n), target, "chosen") for n in params["images"]]
        (predictions,) = streamed["main"]
        picks = informative_images(
            predictions, len(ctx.data_classes("main")), int(params["max_images"])
        )
        if params["target"] is not None:
            picks = [(i, int(params["target"]), "chosen target") for i, _, _ in picks]
            picks = list(dict.fromkeys(picks))
        return picks

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        src = ctx.source("main")
        picks = self._choose(ctx, params, streamed)
        images = stack_items(src.data.dataset, [i for i, _, _ in picks]).to(ctx.device)
        targets = [t for _, t, _ in picks]
        result = occlusion_sensitivity(
            src.model.model,
            images,
            Occluder(params["window"], params["stride"], fill=params["fill"]),
            target=None if any(t is None for t in targets) else targets,
            site=params["site"],
            top_n=min(3, ctx.num_outputs("main") or 3),
            incremental=params["incremental"],
        )
        parts: dict[str, Any] = {"occlusion": result}
        info: dict[str, Any] = {
            "images": [int(i) for i, _, _ in picks],
            "why": [why for _, _, why in picks],
            "boxes": _box_stats(ctx, result, [i for i, _, _ in picks]),
        }
        if result.feature_site is not None:
            parts["projection"] = self._project(src.model.model, images, result, params, info)
        return Bundle(parts, info)

    @staticmethod
    def _project(
        model: Any, images: torch.Tensor, result: Any, params: dict[str, Any], info: dict
    ) -> Any:
        """Panel (c): the deconvnet with switches, else guided backpropagation of each
        image's strongest unit of the (b) map; where that map comes out of a ReLU6, seeded
        at the ReLU6's input (``_capped``), as guided backpropagation is blank at the cap."""
        from interpret.deconvnet import choose_route, project_units

        rule = "deconvnet" if has_max_pooling(model) else "guided"
        site = result.feature_site
        if rule == "guided":
            site = capped_rectifier_input(model, site, images[:1]) or site
        route = choose_route(model, site, params["route"])
        n = len(images)
        zero = torch.zeros(n, dtype=torch.int64)
        units = torch.stack([torch.arange(n), result.feature_channel, zero, zero], 1)
        projection = project_units(
            model, images, site, units, mode="max", route=route, rule=rule, functional="rectify"
        )
        info["route"], info["rule"], info["seed_site"] = route, rule, site
        return projection

    def figures(self, ctx: Any, params: dict[str, Any], bundle: Bundle) -> list[Figure]:
        from interpret.occlusion.plot import plot_sensitivity

        src = ctx.source("main")
        result, info = bundle.parts["occlusion"], bundle.info
        images = stack_items(src.data.dataset, info["images"])
        route = info.get("route")
        figures = []
        for row, (index, why) in enumerate(zip(info["images"], info["why"])):
            target = int(result.target[row])
            label = int(src.data.targets[index]) if src.data.targets else -1
            truth = _label_name(ctx, label)
            caption = (
                f"{src.data.item_names[index]} (class {truth}; {why}). Target: "
                f"{ctx.class_name('main', target)}, clean probability "
                f"{float(result.clean_target_prob[row]):.2f}. Occluder "
                f"{result.window[0]}x{result.window[1]} ({result.fill}), stride "
                f"{result.stride[0]}; (a) the occluder where (d) is lowest."
            )
            if route is not None:
                caption += f" (c) {route} route: {ROUTE_WHY[route]}."
            if info.get("rule") == "guided":
                caption += f" (c) is guided: {GUIDED_WHY}."
            seed = info.get("seed_site")
            if seed is not None and seed != result.feature_site:
                caption += " " + CAPPED_WHY.format(site=result.feature_site, pre=seed) + "."
            box = info.get("boxes", {}).get(str(row))
            if box is not None:
                caption += (
                    f" Green: the box of {box['what']} (stored with the photo). Mean "
                    f"p({ctx.class_name('main', target)}) with the occluder's centre inside "
                    f"the box {box['inside']:.2f} ({box['n_inside']} positions), outside "
                    f"it {box['outside']:.2f} ({box['n_outside']} positions)."
                )
            fig = plot_sensitivity(
                result,
                images,
                row,
                labels=src.model.class_names,
                projection=bundle.parts.get("projection"),
                to_display=display_inverse(src.model.preprocess),
            )
            if box is not None:
                _draw_box(fig, box)
            if seed is not None and seed != result.feature_site:
                (panel,) = [ax for ax in fig.axes if ax.get_title().startswith("(c)")]
                panel.set_title(
                    f"{panel.get_title()}\nseeded at {seed} (before the cap)", fontsize=9
                )
            title = f"{src.data.item_names[index]}: {ctx.class_name('main', target)}"
            figures.append(Figure(f"Occlusion maps (Fig. 7), {title}", fig, caption))
        return figures

    def tables(self, ctx: Any, params: dict[str, Any], bundle: Bundle) -> list[Table]:
        result, info = bundle.parts["occlusion"], bundle.info
        src = ctx.source("main")
        rows = []
        for row, index in enumerate(info["images"]):
            labels, counts = torch.unique(result.top_label[row], return_counts=True)
            top = int(counts.argmax())
            rows.append(
                [
                    src.data.item_names[index],
                    info["why"][row],
                    ctx.class_name("main", int(result.target[row])),
                    float(result.clean_target_prob[row]),
                    float(result.target_prob[row].min()),
                    ctx.class_name("main", int(labels[top])),
                    float(counts[top]) / result.top_label[row].numel(),
                ]
            )
        tables = []
        if info.get("boxes"):
            tables.append(
                Table(
                    "The object's box: mean target probability by where the occluder is",
                    ["image", "target", "box (top, left, bottom, right)", "centre in box",
                     "centre elsewhere"],
                    [
                        [
                            src.data.item_names[info["images"][int(row)]],
                            ctx.class_name("main", int(result.target[int(row)])),
                            ", ".join(f"{v:.0f}" for v in box["box"]),
                            box["inside"],
                            box["outside"],
                        ]
                        for row, box in info["boxes"].items()
                    ],
                )
            )  # fmt: skip
        return tables + [
            Table(
                "Occluded images",
                [
                    "image",
                    "chosen as",
                    "target",
                    "clean probability",
                    "lowest occluded probability",
                    "most frequent class (e)",
                    "share of positions",
                ],
                rows,
            )
        ]


def _boxed_photos(ctx: Any) -> dict[str, int]:
    """On the bundled sample photos: ``{photo: ImageNet output}`` for every photo with a
    stored object box (:data:`interpret.data.samples.OBJECT_BOXES`) whose class is an
    output of the model; empty for any other data."""
    from interpret.data.samples import OBJECT_BOXES

    src = ctx.source("main")
    outputs = src.model.class_names
    if src.data.name != "samples" or outputs is None:
        return {}
    names = src.data.item_names
    return {
        photo: outputs.index(box.label)
        for photo, box in OBJECT_BOXES.items()
        if photo in names and box.label in outputs
    }


def _box_stats(ctx: Any, result: Any, items: list[int]) -> dict[str, dict[str, Any]]:
    """Per figure row (as a string key) with a stored object box: the box in input pixels
    and the mean target probability over occluder positions whose centre lies inside it
    and outside it."""
    from interpret.data.samples import OBJECT_BOXES, object_box

    src = ctx.source("main")
    boxed = _boxed_photos(ctx)
    out = {}
    for row, index in enumerate(items):
        name = src.data.item_names[index]
        if name not in boxed or int(result.target[row]) != boxed[name]:
            continue
        box = object_box(name, src.model.preprocess)
        inside, outside = box_means(result.target_prob[row], result.boxes(), box)
        out[str(row)] = {
            "box": [round(v, 2) for v in box],
            "what": OBJECT_BOXES[name].what,
            "inside": float(inside.mean()),
            "outside": float(outside.mean()),
            "n_inside": int(inside.numel()),
            "n_outside": int(outside.numel()),
        }
    return out


def box_means(
    prob: torch.Tensor, occluders: torch.Tensor, box: tuple[float, float, float, float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split an occlusion map by whether the occluder's centre lies in ``box``.

    Parameters
    ----------
    prob:
        ``(Ph, Pw)`` a quantity per occluder position (Fig. 7 d).
    occluders:
        ``(Ph, Pw, 4)`` ``(top, left, bottom, right)`` of each occluder
        (:meth:`OcclusionResult.boxes`).
    box:
        ``(top, left, bottom, right)`` of the object, in the same pixels.

    Returns
    -------
    (inside, outside)
        1-D tensors of the values at positions whose occluder centre is inside the box
        (half-open: ``top <= y < bottom``) and of the rest.
    """
    top, left, bottom, right = box
    cy = (occluders[..., 0] + occluders[..., 2]).double() / 2
    cx = (occluders[..., 1] + occluders[..., 3]).double() / 2
    covered = (cy >= top) & (cy < bottom) & (cx >= left) & (cx < right)
    return prob[covered], prob[~covered]


def _draw_box(fig: Any, box: dict[str, Any]) -> None:
    """The object box on panel (a) (the image) and panel (d) (the probability map, drawn in
    the same pixel coordinates), with the two means in (d)'s title."""
    from matplotlib.patches import Rectangle

    top, left, bottom, right = box["box"]
    axes = fig.axes
    image_ax, prob_ax = axes[0], [ax for ax in axes if ax.get_title().startswith("(d)")][0]
    for ax in (image_ax, prob_ax):
        ax.add_patch(
            Rectangle(
                (left - 0.5, top - 0.5),
                right - left,
                bottom - top,
                fill=False,
                edgecolor="lime",
                linewidth=1.8,
            )
        )
    prob_ax.set_title(
        f"{prob_ax.get_title()}\nbox {box['inside']:.2f}, elsewhere {box['outside']:.2f}",
        fontsize=9,
    )


def _label_name(ctx: Any, label: int) -> str:
    """The data label's name: a class of the data, or (for data labelled with the model's
    own outputs, as the bundled photos are with ImageNet's) the model's class name."""
    classes = ctx.data_classes("main")
    if 0 <= label < len(classes):
        return classes[label]
    return ctx.class_name("main", label) if label >= 0 else "unlabelled"
