"""Activation maximization of classes and channels (Simonyan 2014, Yosinski 2015, Olah 2017)."""

from __future__ import annotations

import dataclasses
from typing import Any

from interpret.report.sections import register
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params

#: The bundled demo's classes (when the data's classes are not the model's outputs):
#: ImageNet classes with a colour, texture or shape of their own, from the kinds that
#: Simonyan et al. (2014, Fig. 1) and Olah et al. (2017) show.
_IMAGENET_CLASSES = ("flamingo", "goldfish", "strawberry", "zebra", "ladybug", "pineapple")


def _robust_transforms() -> tuple[Any, ...]:
    """Stronger than Lucid's ``standard_transforms`` (pad 12, jitter 8, scale 0.9..1.1,
    rotate 10 degrees): pad 16, jitter 16, scale 0.75..1.25, rotate -15..15 degrees,
    jitter 4. An image that must raise the class under larger shifts and zooms carries
    the class's parts rather than a pattern only the one network reads (measured in
    ``bench/maximize_transfer.py``: the class in another network's top-5)."""
    from interpret.neurons import Jitter, Pad, RandomRotate, RandomScale

    scales = tuple(0.75 + 0.05 * i for i in range(11))
    degrees = tuple(float(a) for a in range(-15, 16))
    return (Pad(16, 0.5), Jitter(16), RandomScale(scales), RandomRotate(degrees), Jitter(4))


def class_config(params: dict[str, Any], model_size: Any) -> Any:
    """The :class:`~interpret.neurons.MaximizeConfig` of the class visualizations:
    ``params["preset"]`` at ``class_size`` px for ``class_steps`` steps, upsampled to
    ``model_size`` (the model's own input size) before the model, with the robust
    transforms at every step (``transform_fraction=1``)."""
    from interpret.neurons import preset

    return preset(
        params["preset"],
        size=params["class_size"],
        steps=params["class_steps"],
        model_size=model_size,
        transforms=_robust_transforms(),
        transform_fraction=1.0,
    )


def _in_words(result: Any, labels: list[str], description: str) -> Any:
    """The result with its labels and description in words (saved and drawn as such)."""
    return dataclasses.replace(result, labels=list(labels), description=description)


def _class_indices(ctx: Any, source: str, wanted: Any) -> list[int]:
    names = ctx.source(source).model.class_names or ()
    count = ctx.num_outputs(source)
    out = []
    for item in wanted:
        if isinstance(item, int) and not isinstance(item, bool):
            if count is not None and not 0 <= item < count:
                raise ValueError(f"maximize: class {item} is not an output (0..{count - 1}).")
            out.append(item)
        elif item in names:
            out.append(names.index(item))
        else:
            raise ValueError(f"maximize: no class named {item!r} in the model's labels.")
    return out


def _default_classes(ctx: Any, limit: int) -> list[Any]:
    """The data's classes that are outputs of the model (by name), else the bundled demo's
    ImageNet classes, else the first outputs."""
    if ctx.label_outputs("main") is not None:
        return list(ctx.data_classes("main")[:limit])
    names = ctx.source("main").model.class_names
    if names is not None and all(c in names for c in _IMAGENET_CLASSES):
        return list(_IMAGENET_CLASSES[:limit])
    count = ctx.num_outputs("main") or 0
    return list(range(min(limit, count)))


@register
class MaximizeSection(Section):
    name = "maximize"
    title = "Activation maximization"
    paper = (
        "Simonyan, Vedaldi & Zisserman (2014); Yosinski et al. (2015), Understanding Neural "
        "Networks Through Deep Visualization; Olah, Mordvintsev & Schubert (2017), Feature "
        "Visualization"
    )
    description = (
        "What a unit wants to see: images optimised from noise to raise a class score or "
        "a channel's mean activation, with the regularisation of Lucid (Fourier "
        "parameterisation, decorrelated colour, random jitter, scale and rotation). Class "
        "images are optimised at the model's own input size under stronger jitter, scale "
        "and rotation at every step, so that they show the class rather than a pattern "
        "only this network reads. Short runs here; more steps give cleaner images."
    )
    defaults: dict[str, Any] = {
        "classes": None,
        "max_classes": 6,
        "channel_site": None,
        "channels": [0, 1, 2],
        "size": 96,
        "steps": 32,
        "class_size": 128,
        "class_steps": 32,
        "class_model_size": "auto",
        "preset": "lucid",
        "digits_steps": 64,
    }
    version = 3

    @property
    def sources(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("main", "digits")

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        if params["classes"] is None:
            params["classes"] = _default_classes(ctx, int(params["max_classes"]))
        elif ctx.num_outputs("main") is None and params["classes"]:
            raise ValueError(
                "maximize: the model's output is not class scores (N, K); set "
                "maximize.classes=[] and maximize channels instead."
            )
        if params["class_model_size"] == "auto":  # the model's own input size, if fixed
            size = getattr(ctx.source("main").model.preprocess, "size", None)
            params["class_model_size"] = list(size) if isinstance(size, tuple) else size
        if params["channel_site"] is None:
            params["channel_site"] = ctx.pick_sites("main", (0.67,))[0]
        params["digits"] = ctx.config.wants("digits")
        return params

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        from interpret.neurons import channel, class_logit, maximize, preset

        src = ctx.source("main")
        config = preset(params["preset"], size=params["size"], steps=params["steps"])
        seed = ctx.config.seed
        parts = {}
        info: dict[str, Any] = {}
        model, norm = src.model.model, src.model.preprocess
        if params["classes"]:
            idx = _class_indices(ctx, "main", params["classes"])
            size = params["class_model_size"]
            classes = class_config(params, tuple(size) if isinstance(size, list) else size)
            titles = [ctx.class_name("main", i) for i in idx]
            with ctx.stage("classes"):
                result = maximize(
                    model, class_logit(idx), normalize=norm, config=classes, seed=seed
                )
            parts["classes"] = _in_words(result, titles, "logit of each class")
            info["class_titles"] = titles
        if params["channels"]:
            site = params["channel_site"]
            with ctx.stage("channels"):
                result = maximize(
                    model,
                    channel(site, params["channels"]),
                    normalize=norm,
                    config=config,
                    seed=seed,
                )
            labels = [f"{site} channel {c}" for c in params["channels"]]
            parts["channels"] = _in_words(result, labels, f"mean activation of {site} channels")
        if params["digits"]:
            digits = ctx.source("digits")
            small = preset(
                params["preset"],
                size=32,
                steps=params["digits_steps"],
                decorrelate=False,
                model_size=32,
            )
            result = maximize(
                digits.model.model,
                class_logit(list(range(10))),
                normalize=digits.model.preprocess,
                config=small,
                seed=seed,
            )
            info["digit_titles"] = [f"digit {d}" for d in range(10)]
            parts["digits"] = _in_words(result, info["digit_titles"], "logit of each digit")
        return Bundle(parts, info)

    def figures(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Figure]:
        from interpret.neurons.maximization.plot import plot_maximize_grid

        figures = []
        p, info = result.parts, result.info
        if "classes" in p:
            figures.append(
                Figure(
                    "Classes",
                    plot_maximize_grid(p["classes"], titles=info["class_titles"], panel_size=2.2),
                    f"Images that raise the logit of each class "
                    f"({p['classes'].settings.get('name', params['preset'])}, "
                    f"{params['class_steps']} steps, {params['class_size']} px"
                    + (
                        f" shown to the model at {_px(params['class_model_size'])} px"
                        if params["class_model_size"]
                        else ""
                    )
                    + ", jitter 16 px, scale 0.75-1.25, rotation up to 15 degrees at "
                    "every step); under each, the final logit.",
                )
            )
        if "channels" in p:
            figures.append(
                Figure(
                    f"Channels of {params['channel_site']}",
                    plot_maximize_grid(p["channels"], panel_size=2.2),
                    f"Images that raise the mean activation of each channel "
                    f"({params['steps']} steps, {params['size']} px).",
                )
            )
        if "digits" in p:
            figures.append(
                Figure(
                    "ZFNet on digits: classes",
                    plot_maximize_grid(
                        p["digits"], titles=info["digit_titles"], ncols=5, panel_size=1.4
                    ),
                    "Images that raise each digit's logit (32 x 32, gray).",
                )
            )
        return figures

    def tables(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Table]:
        rows = []
        titles = {"classes": "class_titles", "digits": "digit_titles"}
        for part, res in result.parts.items():
            labels = result.info.get(titles.get(part, ""), res.labels)
            for label, start, final in zip(labels, res.curve[0].tolist(), res.final.tolist()):
                rows.append([part, label, start, final])
        return [
            Table(
                "Objective at the first step and on the final image",
                ["run", "unit", "first step", "final"],
                rows,
            )
        ]


def _px(size: Any) -> str:
    return f"{size[0]}x{size[1]}" if isinstance(size, (list, tuple)) else str(size)
