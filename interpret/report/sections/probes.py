"""Layer-wise linear probes (Zeiler & Fergus 2013, Sec. 5.2, Table 7)."""

from __future__ import annotations

from typing import Any

from interpret.probes import FeatureCollector, fit_probes
from interpret.report.sections import register
from interpret.report.sections.base import Figure, Section, Table, check_params

_ZFNET_SITES = [
    "features.1",
    "features.5",
    "features.9",
    "features.11",
    "features.13",
    "classifier.2",
    "classifier.5",
]


def _source(ctx: Any) -> str | None:
    if ctx.class_skip_reason("main", needs="labels") is None:
        return "main"
    return "digits" if ctx.config.wants("digits") else None


@register
class ProbesSection(Section):
    name = "probes"
    title = "Linear probes of each layer"
    paper = "Zeiler & Fergus (2013), Sec. 5.2 and Table 7"
    description = (
        "How discriminative each layer's features are: a linear classifier (softmax "
        "regression) is cross-validated on the pooled features of each site of the frozen "
        "network. Accuracy grows with depth as features become more class-specific."
    )
    defaults: dict[str, Any] = {
        "sites": None,
        "pool": "avg",
        "folds": 5,
        "C": 1.0,
        "max_images": 2000,
    }

    @property
    def sources(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("main", "digits")

    def skip_reason(self, ctx: Any) -> str | None:
        if _source(ctx) is None:
            return ctx.class_skip_reason("main", needs="labels")
        return None

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        source = _source(ctx)
        params["source"] = source
        if params["sites"] is None:
            params["sites"] = (
                _ZFNET_SITES
                if source == "digits"
                else ctx.pick_sites("main", (0.0, 0.25, 0.5, 0.75, 1.0))
            )
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        collector = FeatureCollector(
            params["sites"],
            pool=params["pool"],
            max_images=params["max_images"],
            seed=ctx.config.seed,
        )
        return {params["source"]: [collector]}

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Any:
        (features,) = streamed[params["source"]]
        # A small labelled folder (a few images per class) still gets its probes: the folds
        # shrink to the smallest class, never below the two that cross-validation needs.
        smallest = int(features.labels.bincount()[features.labels.unique()].min())
        folds = max(2, min(params["folds"], smallest))
        return fit_probes(features, folds=folds, C=params["C"], seed=ctx.config.seed)

    def figures(self, ctx: Any, params: dict[str, Any], result: Any) -> list[Figure]:
        from interpret.probes import plot_probes

        src = ctx.source(params["source"])
        return [
            Figure(
                "Probe accuracy per site",
                plot_probes(result),
                f"{src.model.name} on {src.data.name}: {result.n_images} images, "
                f"{result.n_classes} classes, chance {result.chance:.1%}; {result.folds}-fold "
                "cross-validated accuracy (bars, ± std) and training accuracy.",
            )
        ]

    def tables(self, ctx: Any, params: dict[str, Any], result: Any) -> list[Table]:
        rows = [
            [
                site,
                result.feature_dims[site],
                float(result.accuracy_mean[i]),
                float(result.accuracy_std[i]),
                float(result.train_accuracy[i].mean()),
            ]
            for i, site in enumerate(result.sites)
        ]
        return [
            Table(
                "Table 7: probe accuracy",
                ["site", "features", "accuracy", "std", "train accuracy"],
                rows,
            )
        ]
