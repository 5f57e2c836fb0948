"""Invariance curves under translation, scaling and rotation (Z&F Fig. 5)."""

from __future__ import annotations

from typing import Any

from interpret.invariance import invariance_curves, rotation, scaling, vertical_translation
from interpret.report.sections import register
from interpret.report.sections._common import display_inverse, stack_items
from interpret.report.sections.base import Figure, Section, Table, check_params

_DEFAULT_IMAGES = ("chelsea", "coffee", "rocket", "astronaut", "motorcycle_left")


@register
class InvarianceSection(Section):
    name = "invariance"
    title = "Invariance to translation, scale and rotation"
    paper = "Zeiler & Fergus (2013), Sec. 4.4 and Fig. 5"
    description = (
        "How far the features move, and how the probability of the true class changes, as "
        "images are shifted, scaled and rotated: small changes matter in the first layer, "
        "much less near the output; the output is invariant to translation and scaling "
        "but not to rotation (except for rotation-symmetric objects)."
    )
    defaults: dict[str, Any] = {
        "images": None,
        "sites": None,
        "shifts": [-60, -40, -20, 0, 20, 40, 60],
        "scales": [1.0, 1.2, 1.4, 1.6, 1.8],
        "degrees": [0, 45, 90, 135, 180, 225, 270, 315, 360],
        "normalize": "reference",
    }

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        names = ctx.source("main").data.item_names
        if params["images"] is None:
            chosen = [n for n in _DEFAULT_IMAGES if n in names]
            params["images"] = chosen or [names[i] for i in _one_per_class(ctx, 4)]
        if params["sites"] is None:
            first = ctx.pick_sites("main", (0.0,))
            params["sites"] = [*first, *ctx.pick_sites("main", (1.0,))]
            params["sites"] = list(dict.fromkeys(params["sites"]))
        return params

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Any:
        src = ctx.source("main")
        names = list(src.data.item_names)
        index = [names.index(n) if isinstance(n, str) else int(n) for n in params["images"]]
        images = stack_items(src.data.dataset, index).to(ctx.device)
        transforms = [
            vertical_translation(params["shifts"]),
            scaling(params["scales"]),
            rotation(params["degrees"]),
        ]
        outputs = ctx.label_outputs("main")
        labels = None
        if outputs is not None:
            targets = [int(src.data.targets[i]) for i in index] if src.data.targets else []
            if targets and all(t >= 0 for t in targets):
                labels = [outputs[t] for t in targets]
        return invariance_curves(
            src.model.model,
            images,
            transforms,
            params["sites"],
            labels=labels,
            normalize=params["normalize"],
            batch_size=ctx.config.batch_size,
            image_names=[names[i] for i in index],
        )

    def figures(self, ctx: Any, params: dict[str, Any], result: Any) -> list[Figure]:
        from interpret.invariance import plot_invariance

        fig = plot_invariance(result, to_image=display_inverse(ctx.source("main").model.preprocess))
        return [
            Figure(
                "Invariance curves (Fig. 5)",
                fig,
                f"Rows: vertical translation (pixels), scaling (factor), rotation (degrees). "
                f"Feature distance ||f(T x) - f(x)|| at {', '.join(result.sites)} "
                f"(normalized: {result.normalize}) and probability of the true class "
                f"({result.label_source}).",
            )
        ]

    def tables(self, ctx: Any, params: dict[str, Any], result: Any) -> list[Table]:
        rows = []
        for curve in result.curves:
            prob = curve.true_prob.float()
            rows.append(
                [
                    curve.name,
                    f"{float(curve.params.min()):g}..{float(curve.params.max()):g} {curve.unit}",
                    float(prob.mean()),
                    float(prob.min()),
                ]
            )
        return [
            Table(
                "True-class probability over each transformation",
                ["transformation", "range", "mean probability", "lowest"],
                rows,
            )
        ]


def _one_per_class(ctx: Any, count: int) -> list[int]:
    """Dataset positions of the first image of each of the first ``count`` classes (the
    first ``count`` images for unlabelled data)."""
    targets = ctx.source("main").data.targets
    firsts: dict[int, int] = {}
    for i, t in enumerate(targets):
        if int(t) >= 0:
            firsts.setdefault(int(t), i)
    chosen = [firsts[c] for c in sorted(firsts)][:count]
    return chosen or list(range(min(count, len(ctx.source("main").data.item_names))))
