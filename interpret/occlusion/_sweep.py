"""The machinery of one occlusion sweep: set-up (probe, clean pass, target and channel),
batched evaluation of occluder positions (full or incremental) and the result."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from interpret.core import capture, hook_count, model_device, preserved_state
from interpret.core.validate import check_model, check_positive_int
from interpret.occlusion._approximate import coarse_positions, drill_positions, interpolate
from interpret.occlusion._graph import GraphPlan, Untraceable
from interpret.occlusion._inputs import (
    as_images,
    batch_size_for,
    logits_of,
    per_image,
    probabilities_of,
    resolve_site,
)
from interpret.occlusion._readout import Readout, feature_total, occluded
from interpret.occlusion._trace import Trace, trace_calls
from interpret.occlusion.incremental import IncrementalPlan
from interpret.occlusion.result import OcclusionResult
from interpret.occlusion.windows import Occluder, grid_boxes

__all__ = ["Sweep", "DEFAULT_MAX_FRACTION"]

DEFAULT_MAX_FRACTION = 0.75
"""Largest fraction of a layer's map a recomputed box may cover before the rest runs in full:
against 0.5 and 0.9, 0.75 was fastest or equal on VGG16, ResNet-18, Inception-v3, DenseNet-121
and MobileNet-v2 (224 px, occluder 16 / stride 8, one CPU thread)."""


def _plan(
    model: nn.Module, trace: Trace, key: str | None, tau: float | None
) -> IncrementalPlan | GraphPlan:
    """The chain plan where the chain holds every convolution (chain models keep their
    path), else the graph plan (``torch.fx``); the approximate mode always needs a graph.
    A model carrying hooks of its own keeps the chain plan (its hooks see each batch once)."""
    chain = IncrementalPlan(model, trace, key)
    if tau is None and hook_count(model):
        return chain
    if tau is None:
        spans = [(s.call.pre, s.call.post) for s in chain.stages]
        convs = [c for c in trace.calls if isinstance(c.module, nn.Conv2d)]
        if all(any(lo <= c.pre <= hi for lo, hi in spans) for c in convs):
            return chain
    try:
        return GraphPlan(model, trace, key)
    except Untraceable as error:
        if tau is not None:
            raise ValueError(
                "The approximate mode needs a model that torch.fx can trace "
                f"({error}); use the exact incremental mode (approximate=None)."
            ) from error
        return chain


def _strongest_channel(act: Tensor) -> Tensor:
    """Per image, the channel of ``act (N, C, ...)`` with the largest maximum; among the
    channels tied at it (ReLU6 caps many at 6), the one with the largest total."""
    if act.ndim == 2:
        return act.argmax(-1)
    flat = act.flatten(2)
    peak, total = flat.amax(-1), flat.double().sum(-1)
    tied = peak >= peak.amax(-1, keepdim=True)
    return torch.where(tied, total, torch.full_like(total, float("-inf"))).argmax(-1)


class Sweep:
    """One sweep, in three steps: ``with sweep.session(): sweep.run(positions)``, then
    ``sweep.result()``. ``run`` may be given a subset of the flattened position indices
    (benchmarks time a subset; the result then holds zeros elsewhere)."""

    def __init__(
        self,
        model: nn.Module,
        images: Tensor,
        occluder: Occluder,
        *,
        target: int | Sequence[int] | Tensor | None = None,
        site: str | None = "auto",
        channel: int | Sequence[int] | Tensor | None = None,
        output: str | int | None = None,
        probabilities: str = "softmax",
        top_n: int = 0,
        keep_logits: bool = False,
        incremental: bool | float = False,
        approximate: float | None = None,
        approximate_checks: int = 4,
        drill_down: float | None = None,
        batch_size: int | None = None,
        memory_budget: int | None = None,
    ) -> None:
        check_model(model)
        if approximate is not None and (
            isinstance(approximate, bool)
            or not isinstance(approximate, (int, float))
            or not 0 < approximate <= 1
        ):
            raise ValueError(
                f"approximate is Krypton's threshold tau in (0, 1] (e.g. 0.4), or None for "
                f"exact results; got {approximate!r}."
            )
        if isinstance(approximate_checks, bool) or not isinstance(approximate_checks, int):
            raise TypeError("approximate_checks must be an int (exact positions per image).")
        if drill_down is not None and not (
            isinstance(drill_down, (int, float)) and not isinstance(drill_down, bool)
            and 0 <= drill_down <= 1 and approximate is not None
        ):  # fmt: skip
            raise ValueError(
                "drill_down is the fraction (0 to 1) of the fine positions computed after the "
                f"coarse pass, and needs approximate=tau; got {drill_down!r}."
            )
        if approximate is not None and not incremental:
            incremental = True  # the approximate mode is a kind of incremental sweep
        check_positive_int(memory_budget, "memory_budget", allow_none=True)
        check_positive_int(batch_size, "batch_size", allow_none=True)
        if isinstance(top_n, bool) or not isinstance(top_n, int):
            raise TypeError(f"top_n must be an int, got {type(top_n).__name__}.")
        if not isinstance(occluder, Occluder):
            raise TypeError(f"occluder must be an Occluder, not {type(occluder).__name__}.")
        if top_n < 0 or batch_size is not None and batch_size < 1:
            raise ValueError("top_n must be >= 0 and batch_size >= 1.")
        if probabilities not in ("softmax", "sigmoid", "identity"):
            raise ValueError(
                f"probabilities must be 'softmax', 'sigmoid' or 'identity', not {probabilities!r}."
            )
        if not isinstance(incremental, bool) and not (
            isinstance(incremental, (int, float)) and incremental > 0
        ):
            raise ValueError(
                f"incremental must be True/False or a positive map fraction, not {incremental!r}."
            )
        self.model, self.occluder = model, occluder
        self.device = model_device(model)
        self.images = as_images(images).to(self.device)
        n, _c, h, w = self.images.shape
        self.tops, self.lefts = occluder.grid(h, w)
        self.boxes = grid_boxes(self.tops, self.lefts, occluder.window, (h, w))
        self.target, self.site, self.channel, self.output = target, site, channel, output
        self.probabilities, self.top_n, self.keep_logits = probabilities, top_n, keep_logits
        self.incremental = incremental
        self.max_fraction = DEFAULT_MAX_FRACTION if incremental is True else float(incremental)
        self.batch_size, self.memory_budget = batch_size, memory_budget
        self.tau = None if approximate is None else float(approximate)
        self.checks = max(0, approximate_checks)
        self.drill = None if drill_down is None else float(drill_down)
        self.approximation_error: float | None = None
        self._interpolated: dict[int, Tensor] = {}  # per image, positions drill-down guessed
        self.incremental_sites: tuple[str, ...] = ()

    @contextmanager
    def session(self) -> Iterator[Sweep]:
        """Eval mode, hooks and (incremental) layer stubs for the duration; the clean pass,
        target, channel and batch size are settled on entry."""
        model, images = self.model, self.images
        with preserved_state(model), ExitStack() as stack:
            model.eval()
            trace = trace_calls(model, images[:1], log_ops=bool(self.incremental))
            self.key, base = resolve_site(model, self.site, trace)
            self.batch = self.batch_size or batch_size_for(trace, self.memory_budget, self.device)
            self.baseline = self.occluder.filler.baseline(images, self.occluder.window)
            self.plan: IncrementalPlan | GraphPlan | None = None
            if self.incremental:  # before our capture hooks: hooked layers stay out
                self.plan = _plan(model, trace, self.key, self.tau)
                if isinstance(self.plan, GraphPlan):
                    names = self.plan.choose(self.boxes, self.max_fraction, self.tau)
                else:
                    hw = (int(images.shape[-2]), int(images.shape[-1]))
                    count = self.plan.choose_handoff(self.boxes, hw, self.max_fraction)
                    names = self.plan.names[:count]
                self.incremental_sites = tuple(names)
                self._cached = 0  # the plan's caches hold the first image
            self.acts = stack.enter_context(capture(model, base)) if base else None
            stack.enter_context(torch.inference_mode())
            self._clean_pass()
            if isinstance(self.plan, IncrementalPlan):
                stack.enter_context(self.plan.installed())
            yield self

    def _clean_pass(self) -> None:
        n = len(self.images)
        logits, feats = [], []
        for start in range(0, n, self.batch):
            logits.append(
                logits_of(self.model(self.images[start : start + self.batch]), self.output)
            )
            if self.acts is not None:
                feats.append(self.acts[str(self.key)])
        self.logits0 = torch.cat(logits)
        self.probs0 = probabilities_of(self.logits0, self.probabilities)
        k = self.logits0.shape[1]
        self.tgt = (
            self.logits0.argmax(-1).cpu()
            if self.target is None
            else per_image(self.target, n, k, "target")
        )
        if self.top_n > k:
            raise ValueError(f"top_n={self.top_n} exceeds the number of classes ({k}).")
        self.chan = self.feat0 = None
        if self.acts is not None:
            act0 = torch.cat(feats)
            if act0.ndim < 2:
                raise ValueError(
                    f"Site {self.key!r} gives {tuple(act0.shape)}; pick a site with channels."
                )
            if self.channel is None:
                self.chan = _strongest_channel(act0).cpu()
            else:
                self.chan = per_image(self.channel, n, act0.shape[1], "channel")
            self.feat0 = feature_total(act0, self.chan).cpu()
        self.dtype = torch.float64 if self.logits0.dtype == torch.float64 else torch.float32
        self.readout = Readout(
            n, len(self.boxes), k, self.top_n, self.keep_logits, self.acts is not None,
            self.dtype, self.device,
        )  # fmt: skip

    def _record(self, img: Tensor, pos: Tensor, out: Any, feat: Tensor | None) -> None:
        logits = logits_of(out, self.output)
        if feat is None and self.acts is not None and self.chan is not None:
            feat = feature_total(self.acts[str(self.key)], self.chan[img])
        probs = probabilities_of(logits, self.probabilities)
        self.readout.add(img, pos, logits, probs, self.tgt, feat)

    def run(self, positions: Tensor | None = None) -> None:
        """Evaluate every image at ``positions`` (flattened grid indices; default all)."""
        positions = torch.arange(len(self.boxes)) if positions is None else positions.long()
        n, batch = len(self.images), self.batch
        if self.plan is None:
            pairs = torch.cartesian_prod(torch.arange(n), positions).view(-1, 2)
            for start in range(0, len(pairs), batch):
                img, pos = pairs[start : start + batch].unbind(1)
                x = occluded(self.images, self.baseline, self.boxes[pos], img)
                self._record(img, pos, self.model(x), None)
            return
        if isinstance(self.plan, GraphPlan):
            self._run_graph(self.plan, positions)
            return
        plan = self.plan
        from_patch = plan.site_stage is not None and plan.site_stage < plan.handoff
        for i in range(n):
            if self._cached != i:
                plan.prepare(self.images[i : i + 1])
                self._cached = i
            image, baseline = self.images[i : i + 1], self.baseline[i : i + 1]
            for start in range(0, len(positions), batch):
                pos = positions[start : start + batch]
                img = torch.full_like(pos, i)
                sums = plan.compute(self.boxes[pos], image, baseline)
                x = occluded(self.images, self.baseline, self.boxes[pos], img)
                feat = None
                if from_patch and sums is not None and self.chan is not None:
                    feat = sums[:, int(self.chan[i])]
                self._record(img, pos, self.model(x), feat)

    def _run_graph(self, plan: GraphPlan, positions: Tensor) -> None:
        grid = (len(self.tops), len(self.lefts))
        if self.drill is not None and len(positions) != grid[0] * grid[1]:
            raise ValueError("The drill-down sweeps the whole grid; run() it on every position.")
        for i in range(len(self.images)):
            if self._cached != i:
                plan.prepare(self.images[i : i + 1])
                self._cached = i
            if self.drill is None:
                self._graph_batches(plan, i, positions)
                continue
            coarse = coarse_positions(grid)
            self._graph_batches(plan, i, coarse)
            r = self.readout
            for value in vars(r).values():
                if isinstance(value, Tensor):
                    value[i] = interpolate(value[i], grid)
            drilled = drill_positions(r.target_prob[i], grid, self.drill)
            self._graph_batches(plan, i, drilled)
            estimated = torch.ones(grid[0] * grid[1], dtype=torch.bool)
            estimated[coarse], estimated[drilled] = False, False
            self._interpolated[i] = estimated.nonzero().view(-1)
        if self.tau is not None and self.checks:
            self._check(positions)

    def _graph_batches(self, plan: GraphPlan, i: int, positions: Tensor) -> None:
        image, baseline = self.images[i : i + 1], self.baseline[i : i + 1]
        chan = None if self.chan is None else self.chan[i : i + 1]
        for start in range(0, len(positions), self.batch):
            pos = positions[start : start + self.batch]
            img = torch.full_like(pos, i)
            channel = None if chan is None else chan.expand(len(pos))
            out, feat = plan.forward(self.boxes[pos], image, baseline, channel)
            self._record(img, pos, out, feat)

    def _check(self, positions: Tensor) -> None:
        """The approximate mode's own error: exact full forwards at ``checks`` positions per
        image, spread over those swept (with drill-down: over those interpolated, where the
        error is); the largest absolute error of the target probability (kept on the device
        until :meth:`result`)."""
        rows = []
        for i in range(len(self.images)):
            among = self._interpolated.get(i)
            among = positions if among is None or len(among) == 0 else among
            picks = among[torch.linspace(0, len(among) - 1, self.checks).round().long()]
            rows.append(torch.stack([torch.full_like(picks, i), picks], 1))
        pairs = torch.cat(rows)
        worst = torch.zeros((), dtype=self.dtype, device=self.device)
        for start in range(0, len(pairs), self.batch):
            img, pos = pairs[start : start + self.batch].unbind(1)
            x = occluded(self.images, self.baseline, self.boxes[pos], img)
            logits = logits_of(self.model(x), self.output)
            probs = probabilities_of(logits, self.probabilities)
            exact = probs[torch.arange(len(img)), self.tgt[img].to(self.device)]
            got = self.readout.target_prob[img.to(self.device), pos.to(self.device)]
            worst = torch.maximum(worst, (exact.to(got.dtype) - got).abs().max())
        self._worst = worst
        self.approximation_error = -1.0  # read in result()

    def result(self) -> OcclusionResult:
        n, (h, w) = len(self.images), self.images.shape[-2:]
        grid = (n, len(self.tops), len(self.lefts))
        r = self.readout
        r.cpu()
        rows, tgt = torch.arange(n), self.tgt.to(self.device)
        k = self.logits0.shape[1]
        return OcclusionResult(
            tops=self.tops,
            lefts=self.lefts,
            window=self.occluder.window,
            stride=self.occluder.stride,
            padding=self.occluder.padding,
            fill=self.occluder.describe(),
            image_size=(int(h), int(w)),
            target=self.tgt,
            clean_logits=self.logits0.to(self.dtype).cpu(),
            clean_target_prob=self.probs0[rows, tgt].to(self.dtype).cpu(),
            clean_target_logit=self.logits0[rows, tgt].to(self.dtype).cpu(),
            target_prob=r.target_prob.view(grid),
            target_logit=r.target_logit.view(grid),
            top_label=r.top_label.view(grid),
            top_prob=r.top_prob.view(grid),
            feature_site=self.key,
            feature_channel=self.chan,
            feature_total=None if r.feature is None else r.feature.view(grid),
            clean_feature_total=self.feat0,
            topn_labels=None if r.topn_labels is None else r.topn_labels.view(*grid, self.top_n),
            topn_probs=None if r.topn_probs is None else r.topn_probs.view(*grid, self.top_n),
            logits=None if r.logits is None else r.logits.view(*grid, k),
            probabilities=self.probabilities,
            incremental_sites=self.incremental_sites,
            approximation_tau=self.tau,
            approximation_error=(None if self.approximation_error is None else float(self._worst)),
            approximation_checks=self.checks if self.tau is not None else 0,
            approximation_drill_down=self.drill,
        )
