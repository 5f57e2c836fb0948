"""Deconvnet top-9 on ZFNet trained on digits, with max-pooling switches (reverse walk)."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from interpret.deconvnet import TopActivations, project_top
from interpret.report.sections import register
from interpret.report.sections._common import choose_channels
from interpret.report.sections.base import Bundle, Figure, Section, Table, check_params
from interpret.report.sections.deconvnet import PAPER, top_figures, top_table


def _project_reverse(model: nn.Module, data: Any, top: Any, channels: list[int]) -> Any:
    """``project_top`` with switches; a ``features.*`` site is walked inside ``model.features``.

    The explicit walk traces the model with torch.fx; a ``forward`` that checks its input
    (as ZFNet's does) cannot be traced, while its ``features`` chain can.
    """
    features = getattr(model, "features", None)
    if top.site.startswith("features.") and isinstance(features, nn.Sequential):
        local = dataclasses.replace(top, site=top.site[len("features.") :])
        result = project_top(features, data, local, channels=channels, route="reverse")
        return dataclasses.replace(result, site=top.site)
    return project_top(model, data, top, channels=channels, route="reverse")


@register
class DeconvnetSwitchesSection(Section):
    name = "deconvnet_switches"
    title = "Deconvnet with switches: ZFNet on digits"
    paper = PAPER
    description = (
        "The paper's own deconvnet: a ZFNet (Fig. 3 layout, narrower) trained on the "
        "bundled digits, walked backwards layer by layer: unpool with the switches recorded "
        "in the forward pass, rectify, filter with the transposed filters. Windows are the "
        "exact receptive fields of the units."
    )
    defaults: dict[str, Any] = {"sites": ["features.5", "features.13"], "k": 9, "channels": 4}
    sources = ("digits",)
    demo = "digits"

    def params(self, ctx: Any) -> dict[str, Any]:
        params = check_params(self.name, self.defaults, ctx.config.section_params(self.name))
        if isinstance(params["sites"], str):
            params["sites"] = [params["sites"]]
        return params

    def analyzers(self, ctx: Any, params: dict[str, Any]) -> dict[str, list[Any]]:
        return {"digits": [TopActivations(site, k=params["k"]) for site in params["sites"]]}

    def compute(self, ctx: Any, params: dict[str, Any], streamed: dict) -> Bundle:
        src = ctx.source("digits")
        parts = {}
        for i, top in enumerate(streamed["digits"]):
            channels = choose_channels(top.values, params["channels"], ctx.generator(i))
            parts[top.site] = _project_reverse(src.model.model, src.data.dataset, top, channels)
        return Bundle(parts, {"notes": list(src.model.notes)})

    def figures(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Figure]:
        return top_figures(ctx, "digits", result, "ZFNet on digits")

    def tables(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[Table]:
        return [top_table(ctx, "digits", result)]

    def notes(self, ctx: Any, params: dict[str, Any], result: Bundle) -> list[str]:
        from interpret.deconvnet.plot import CONTRAST_NOTE

        return [*result.info.get("notes", []), CONTRAST_NOTE]
