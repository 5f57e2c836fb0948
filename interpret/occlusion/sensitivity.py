"""Occlusion sensitivity (Zeiler & Fergus 2013, Sec. 4.2 and Fig. 7) in one batched sweep.

An occluder is slid over the image; for every position one forward pass of the occluded
copy gives (b) the total activation of a chosen feature map, (d) the probability of the
correct (or any chosen) class and (e) the most probable label, plus optionally the logits
and the top-N classes. The occluded copies are batched (a memory budget sets the batch)
and run under ``torch.inference_mode``; ``incremental=True`` recomputes only the changed
region of each layer (see :mod:`interpret.occlusion.incremental`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from interpret.occlusion._inputs import as_images
from interpret.occlusion._sweep import DEFAULT_MAX_FRACTION, Sweep
from interpret.occlusion.result import OcclusionResult
from interpret.occlusion.windows import Occluder

__all__ = ["occlusion_sensitivity", "project_feature", "DEFAULT_MAX_FRACTION"]


def occlusion_sensitivity(
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
    drill_down: float | None = None,
    approximate_checks: int = 4,
    batch_size: int | None = None,
    memory_budget: int | None = None,
) -> OcclusionResult:
    """Slide ``occluder`` over ``images`` and record Fig. 7 (b), (d), (e) per position.

    Parameters
    ----------
    model:
        Any classifier returning logits ``(N, K)`` (or a dict/tuple holding them, see
        ``output``); run in eval mode, state and hooks restored afterwards.
    images:
        ``(N, C, H, W)`` or ``(C, H, W)`` in the model's input space, on any device (moved to
        the model's).
    occluder:
        Window, stride, fill and padding policy (:class:`Occluder`).
    target:
        The class whose probability is mapped: one int, one per image, or ``None`` for each
        image's top unoccluded class.
    site:
        Feature site for (b): a module name (``"name:key"`` for a tuple/dict element,
        ``"name#1"`` for a module's second call), ``"auto"`` for the last conv block, or
        ``None`` to skip (b).
    channel:
        Feature map at ``site``: one int, one per image, or ``None`` for the map with the
        strongest response (largest maximum) in each unoccluded image; maps tied at the
        maximum (a capped rectifier such as ReLU6 saturates many at 6) are told apart by
        their total response.
    output:
        Key or index of the logits in a dict/tuple model output.
    probabilities:
        ``"softmax"`` (default), ``"sigmoid"`` (multi-label) or ``"identity"``.
    top_n:
        Also keep the ``top_n`` most probable classes and probabilities per position.
    keep_logits:
        Also keep all logits per position, ``(N, Ph, Pw, K)``.
    incremental:
        ``True`` (or the largest fraction of a layer's map a recomputed box may cover,
        default 0.75) to recompute only changed regions (Krypton); exact up to rounding.
        Chain models (every convolution in one chain of layers and residual units) use
        the chain plan; any other model ``torch.fx`` can trace (Inception, DenseNet,
        MobileNet ...) goes through its graph, concatenations and adds included; global
        operations (squeeze-and-excitation, global pooling) compute in full from there.
    approximate:
        Krypton's projective-field threshold ``tau`` in (0, 1], or ``None`` (default) for
        exact maps. After every window or merge layer the changed region is cut to at
        most ``ceil(tau * side)`` rows and columns around its centre, and the values
        beyond are taken as unchanged; a layer whose cut region still covers more than the
        hand-off fraction (0.75) runs in full, so ``tau`` above about 0.87 changes nothing.
        The trade-off, measured here (one CPU thread, SSIM of the target-probability map
        against the exact one on the exact map's own span): VGG16 (random init, 224 px,
        16 px occluder at stride 8) about 8-10x bare inference at 0.5 with SSIM 0.955,
        against 7x exact; on deep networks the cut costs more: the bundled Lite0 over
        photos keeps a mean SSIM of 0.94 at 0.75 but 0.70 at 0.5. Smaller ``tau`` is
        faster but ignores the weak far-reaching changes; check the recorded error before
        trusting a map. Needs a ``torch.fx``-traceable model.
    drill_down:
        With ``approximate``: Krypton's adaptive drill-down. Every other row and column
        of positions is computed first; then this fraction (0 to 1) of the remaining
        positions, where the coarse values around them disagree most; the rest are
        interpolated (labels: nearest). ``None``: every position is computed. Pays where
        the map is smooth: with ``approximate=1.0`` on the bundled Lite0 over photos
        (16 px occluder at stride 8) 0.5 keeps a mean SSIM of 0.93 at about 1.7x the
        exact mode's speed, 0.25 gives 0.87 at 2.3x; an untrained network's map is close
        to noise and loses far more.
    approximate_checks:
        Positions per image recomputed exactly by full forwards after an approximate sweep
        (spread over the grid; with drill-down, over the interpolated positions); the
        largest absolute error of ``target_prob`` there is stored as
        ``approximation_error``. 0 skips the check.
    batch_size:
        Occluded copies per forward (batches mix images and positions).
    memory_budget:
        Bytes for one batch when ``batch_size`` is not given (default CPU: 1 GiB; CUDA:
        half the free memory), divided by a per-image estimate from one probing pass
        (input plus twice the largest activation); at most 256 copies per batch.

    Returns
    -------
    OcclusionResult
        Grids ``(N, Ph, Pw)``; ``to_pixels()`` gives Captum-style per-pixel maps.

    Example
    -------
    >>> from interpret.testing import chain_cnn
    >>> net = chain_cnn()
    >>> res = occlusion_sensitivity(net, torch.randn(3, 20, 20), Occluder(8, 4))
    >>> tuple(res.target_prob.shape), res.feature_site
    ((1, 4, 4), 'features.7')
    """
    sweep = Sweep(
        model, images, occluder, target=target, site=site, channel=channel, output=output,
        probabilities=probabilities, top_n=top_n, keep_logits=keep_logits,
        incremental=incremental, approximate=approximate, drill_down=drill_down,
        approximate_checks=approximate_checks, batch_size=batch_size, memory_budget=memory_budget,
    )  # fmt: skip
    with sweep.session():
        sweep.run()
    return sweep.result()


def project_feature(
    model: nn.Module,
    images: Tensor,
    result: OcclusionResult,
    *,
    route: Literal["auto", "reverse", "gradient"] = "auto",
    rule: Literal["deconvnet", "guided"] = "deconvnet",
    functional: Literal["raise", "rectify", "gradient"] = "raise",
) -> Any:
    """Fig. 7 (c): the deconvnet projection of each image's feature map of (b), seeded at
    its strongest activation (:func:`interpret.deconvnet.project`).

    ``rule="guided"`` gives guided backpropagation instead (the forward ReLU mask too): the
    picture to show for a network without max pooling, where the deconvnet has no switches
    to carry the image and draws nearly the same pattern for every image.

    ``functional`` is :func:`interpret.deconvnet.project`'s policy for functional ReLUs on
    the gradient route (``"rectify"`` for ResNets, whose residual ReLUs are modules but
    whose additions are not).

    Returns the deconvnet ``ProjectionResult`` (``projections (N, C, H, W)``), ready for
    :func:`interpret.occlusion.plot.plot_sensitivity`.
    """
    from interpret.deconvnet.project import project_units

    if result.feature_site is None or result.feature_channel is None:
        raise ValueError(
            "This result has no feature site; run the sweep with site='auto' or a name."
        )
    images = as_images(images)
    n = len(images)
    units = torch.stack(
        [torch.arange(n), result.feature_channel, torch.zeros(n, dtype=torch.int64),
         torch.zeros(n, dtype=torch.int64)], 1,
    )  # fmt: skip
    return project_units(
        model,
        images,
        result.feature_site,
        units,
        mode="max",
        route=route,
        rule=rule,
        functional=functional,
    )
