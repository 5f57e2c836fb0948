"""Capture summary: per-channel statistics of the main sites (:class:`ActivationStats`)."""

from __future__ import annotations

from typing import Any

from interpret.core import ActivationStats, ActivationStatsResult
from interpret.report.sections import register
from interpret.report.sections.base import Figure, Section, Table, check_params


@register
class SummarySection(Section):
    name = "summary"
    title = "Capture summary"
    paper = ""
    description = (
        "Per-channel statistics of the spatially averaged activation at each site, over the "
        "whole dataset, from the one shared scan: how strongly and how often channels fire, "
        "and which never do (dead channels)."
    )
    defaults: dict[str, Any] = {"sites": None, "k": 5}

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        if params["sites"] is None:
            params["sites"] = ctx.pick_sites("main", (0.0, 0.34, 0.67, 1.0))
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        return {"main": [ActivationStats(params["sites"], k=params["k"])]}

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> ActivationStatsResult:
        return streamed["main"][0]

    def figures(self, ctx: Any, params: dict[str, Any], result: Any) -> list[Figure]:
        from interpret.core.figures import new_figure

        sites = list(result.sites.values())
        fig = new_figure(figsize=(2.6 * len(sites), 4.4))
        axes = fig.subplots(2, len(sites), squeeze=False)
        for j, stats in enumerate(sites):
            top, bottom = axes[0, j], axes[1, j]
            top.hist(stats.mean.numpy(), bins=30, color="#4c72b0")
            top.set_title(f"{stats.site}\n{stats.shape[0]} channels", fontsize=8)
            top.set_xlabel("mean activation")
            bottom.hist(stats.active_fraction.numpy(), bins=20, range=(0, 1), color="#dd8452")
            bottom.set_xlabel("fraction > 0")
        axes[0, 0].set_ylabel("channels")
        axes[1, 0].set_ylabel("channels")
        fig.tight_layout()
        return [
            Figure(
                "Channel statistics per site",
                fig,
                "Top: the per-image spatial mean of each channel, averaged over images. "
                "Bottom: fraction of (image, position) values above zero per channel; "
                "channels at 0 never fired on this data.",
            )
        ]

    def tables(self, ctx: Any, params: dict[str, Any], result: Any) -> list[Table]:
        rows = []
        for stats in result.sites.values():
            dead = int((stats.active_fraction == 0).sum())
            rows.append(
                [
                    stats.site,
                    "x".join(str(s) for s in stats.shape),
                    stats.count,
                    float(stats.mean.mean()),
                    float(stats.std.mean()),
                    float(stats.max.max()),
                    float(stats.active_fraction.mean()),
                    dead,
                ]
            )
        columns = [
            "site",
            "shape (C x h x w)",
            "images",
            "mean",
            "mean std",
            "max",
            "fraction > 0",
            "dead channels",
        ]
        return [Table("Sites", columns, rows)]
