"""Filter health of the first convolutions (Zeiler & Fergus 2013, Sec. 4.2, Fig. 6)."""

from __future__ import annotations

from typing import Any

from torch import nn

from interpret.filters import FilterActivity, filter_health
from interpret.report.sections import register
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params


def _first_conv(model: nn.Module) -> tuple[str, str]:
    """``(conv, activity site)``: the first convolution and the rectifier after it, if any."""
    names = [(n, m) for n, m in model.named_modules() if n]
    for i, (name, module) in enumerate(names):
        if isinstance(module, nn.Conv2d):
            for later, after in names[i + 1 : i + 4]:
                kind = type(after).__name__
                if kind in ("ReLU", "ReLU6", "BatchNormAct2d"):
                    return name, later
            return name, name
    raise ValueError("The model has no nn.Conv2d; the filters section needs one.")


@register
class FiltersSection(Section):
    name = "filters"
    title = "Filter health"
    paper = "Zeiler & Fergus (2013), Sec. 4.2 and Fig. 6"
    description = (
        "The first-layer filters as images, their RMS (dominating filters stand far above "
        "the median; feature scale clipping bounds it at 0.1), filters that never fire on "
        "the data (dead), and aliasing: the share of a filter's power above the frequency "
        "its stride can represent."
    )
    defaults: dict[str, Any] = {"site": None, "activity_site": None, "dominating_factor": 3.0}

    @property
    def sources(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("main", "digits")

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        conv, act = _first_conv(ctx.source("main").model.model)
        if params["site"] is None:
            params["site"] = conv
            params["activity_site"] = params["activity_site"] or act
        params["activity_site"] = params["activity_site"] or params["site"]
        params["digits"] = ctx.config.wants("digits")
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        out = {"main": [FilterActivity(params["activity_site"])]}
        if params["digits"]:
            out["digits"] = [FilterActivity("features.1")]
        return out

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        main = ctx.source("main")
        parts = {
            main.model.name: filter_health(
                main.model.model,
                params["site"],
                activity=streamed["main"][0],
                activity_site=params["activity_site"],
                dominating_factor=params["dominating_factor"],
                keep_weights=True,
            )
        }
        if params["digits"]:
            digits = ctx.source("digits")
            parts["zfnet (digits)"] = filter_health(
                digits.model.model,
                "features.0",
                activity=streamed["digits"][0],
                activity_site="features.1",
                dominating_factor=params["dominating_factor"],
                keep_weights=True,
            )
        return Bundle(parts)

    def figures(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Figure]:
        from interpret.core.figures import new_figure
        from interpret.filters import plot_aliasing, plot_filter_grid, plot_filter_rms

        figures = []
        for model_name, health in result.parts.items():
            if health.weights is not None:
                figures.append(
                    Figure(
                        f"{model_name}: filters of {health.site}",
                        plot_filter_grid(health),
                        "Each filter scaled jointly; flagged filters framed "
                        "(dominating, over the clipping radius, dead).",
                    )
                )
            fig, ax = new_figure(figsize=(7, 2.6), with_axes=True)
            plot_filter_rms(health, ax=ax)
            figures.append(
                Figure(
                    f"{model_name}: filter RMS at {health.site}",
                    fig,
                    f"Median RMS {health.median_rms:.3g}; a filter dominates "
                    f"above {health.dominating_factor:g} x median.",
                )
            )
            if health.aliasing is not None:
                figures.append(
                    Figure(
                        f"{model_name}: aliasing at {health.site}",
                        plot_aliasing(health),
                        "Share of each filter's spectral power above the "
                        "cutoff its stride can represent.",
                    )
                )
        return figures

    def tables(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Table]:
        rows = []
        for model_name, h in result.parts.items():
            dead = "-" if h.dead is None else int(h.dead.sum())
            aliasing = "-" if h.aliasing is None else float(h.aliasing.mean())
            rows.append(
                [
                    model_name,
                    h.site,
                    len(h.rms),
                    h.median_rms,
                    int(h.dominating.sum()),
                    int(h.over_radius.sum()),
                    dead,
                    aliasing,
                ]
            )
        columns = [
            "model",
            "conv",
            "filters",
            "median RMS",
            "dominating",
            "RMS > 0.1",
            "dead",
            "mean aliasing",
        ]
        return [Table("Filter health", columns, rows)]
