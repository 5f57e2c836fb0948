"""Activation maximization: optimize images that raise an objective, many units at once.

Erhan et al. (2009), Simonyan et al. (2014), Yosinski et al. (2015, the deepvis
toolbox) and Olah et al. (Lucid, 2017): start from a random image and follow the
gradient of an :class:`~interpret.neurons.maximization.objectives.Objective` with respect to the
image, under regularization. Each step::

    image = param.images()                 # (B, C, H, W) in [0, 1]
    x = transforms(image) ; x = resize(x)  # jitter / scale / rotate, per element
    x = (x - mean) / std                   # the model's own preprocessing
    value = objective(activations, output) # (B,), captured in gradient mode
    ascend value - penalties(image)        # Adam, SGD or Yosinski's "progress" step,
                                           # at a rate that may adapt per element
    step regularizers ; clip               # decay, blur, clipping (Yosinski)

Batch element ``b`` has its own objective (``channel(site, range(64))``), its own
generator (seed ``seeds[b]``) for the initial image and every transform, and the model
runs in eval mode, so a batched run gives the images of separate single runs with the
same seeds (up to floating-point differences of batched kernels), only faster. Only
:func:`~interpret.neurons.maximization.objectives.diversity` couples elements.

The model is left as it was: hooks removed, ``training`` flags and ``requires_grad``
restored, no gradient accumulated on its parameters -- on every exit path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from interpret.core import (
    HookSet,
    StopForward,
    capture,
    checked_forward,
    get_module,
    model_device,
    preserved_state,
    resolve_sites,
)
from interpret.core.validate import check_index
from interpret.neurons.maximization.config import (
    LR_GROW,
    LR_RANGE,
    LR_SHRINK,
    MaximizeConfig,
    MaximizeResult,
    _pair,
)
from interpret.neurons.maximization.objective_base import Objective
from interpret.neurons.maximization.parameterization import FourierImage, PixelImage, parameterize
from interpret.neurons.maximization.presets import preset
from interpret.neurons.maximization.relu_redirect import redirect_relu_gradients
from interpret.neurons.maximization.transforms import Resize, apply_transforms

__all__ = ["MaximizeConfig", "MaximizeResult", "count_channels", "evaluate_objective", "maximize"]

Normalize = tuple[Sequence[float], Sequence[float]]

#: Default chunk size per CPU thread (see ``maximize(chunk_size=...)``).
CPU_CHUNK = 8


def _norm_stats(normalize: Any, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    if normalize is None:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    elif hasattr(normalize, "mean") and hasattr(normalize, "std"):
        mean, std = normalize.mean, normalize.std
    else:
        try:
            mean, std = normalize
        except (TypeError, ValueError):
            raise TypeError(
                "normalize must be (mean, std) -- e.g. ((0.5,) * 3, (0.5,) * 3) for "
                "EfficientNet-Lite0 -- an object with .mean and .std, or None."
            ) from None
    mean_t = torch.as_tensor(mean, dtype=torch.float64).flatten()
    std_t = torch.as_tensor(std, dtype=torch.float64).flatten()
    if not bool(torch.isfinite(mean_t).all() and torch.isfinite(std_t).all()):
        raise ValueError(f"normalize holds NaN or infinity: mean {mean}, std {std}.")
    if mean_t.numel() != std_t.numel() or mean_t.numel() == 0 or bool((std_t <= 0).any()):
        raise ValueError(
            f"normalize needs one mean and one positive std per channel, got {mean} and {std}."
        )
    shape = (1, -1, 1, 1)
    return (
        mean_t.view(shape).to(device=device, dtype=dtype),
        std_t.view(shape).to(device=device, dtype=dtype),
    )


def _seeds(seed: int | Sequence[int], batch: int) -> list[int]:
    if isinstance(seed, int) and not isinstance(seed, bool):
        return [seed + b for b in range(batch)]
    if isinstance(seed, (str, bytes)) or not isinstance(seed, Sequence):
        raise TypeError(f"seed must be an int or a sequence of ints, not {seed!r}.")
    seeds = [check_index(s, "seed") for s in seed]
    if len(seeds) != batch:
        raise ValueError(f"{len(seeds)} seeds for a batch of {batch}; give one per element.")
    return seeds


def _batch_size(objective: Objective, batch: int | None) -> int:
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise ValueError(f"batch must be a positive int, got {batch!r}.")
    if objective.batch_size is None:
        return batch or 1
    if batch is not None and batch != objective.batch_size:
        raise ValueError(
            f"The objective has one target per element for {objective.batch_size} elements, "
            f"but batch={batch}; leave batch out."
        )
    return objective.batch_size


def _model_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _module_of(key: str) -> str:
    """``"name#1"`` (second call) and ``"name:0"`` (tuple element) -> the capture site."""
    return key.split("#", 1)[0]


def maximize(
    model: nn.Module,
    objective: Objective,
    *,
    normalize: Normalize | Any | None,
    config: MaximizeConfig | str | None = None,
    batch: int | None = None,
    seed: int | Sequence[int] = 0,
    device: torch.device | str | None = None,
    chunk_size: int | None = None,
    callback: Callable[[int, Tensor], None] | None = None,
) -> MaximizeResult:
    """Optimize images that maximize ``objective``, all batch elements at once.

    Parameters
    ----------
    model:
        Any ``nn.Module`` taking ``(B, C, H, W)`` images; run in eval mode.
    objective:
        What to raise (see :mod:`interpret.neurons.maximization.objectives`). A
        per-element objective fixes the batch size.
    normalize:
        The model's preprocessing ``(mean, std)`` on ``[0, 1]`` images, e.g.
        ``((0.5,) * 3, (0.5,) * 3)`` for EfficientNet-Lite0 or ImageNet's
        ``((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))``; any object with ``.mean`` and
        ``.std`` (``interpret.data.Preprocess``); ``None`` if the model takes ``[0, 1]``.
        Its length sets the number of image channels.
    config:
        A :class:`MaximizeConfig` or a preset name (``"lucid"``, ``"deepvis"``, see
        :func:`interpret.neurons.maximization.presets.preset`); default ``"lucid"``, which adapts to
        the model: each element's Adam rate follows its objective (grows while it does
        not fall, shrinks when it falls), channels dead on the start image get Lucid's
        redirected ReLU gradient, and the random transforms stop after half the steps
        (``MaximizeConfig.lr_schedule``, ``relu_gradient``, ``transform_fraction``;
        ``preset("lucid", literal=True)`` for Lucid's settings as published). With a preset
        (or the default) and a ``normalize`` that has a fixed ``size`` (an
        ``interpret.data.Preprocess``), images reach the model at that size
        (``model_size``), so a network with a fixed input (ZFNet on 32 x 32 digits) takes
        the default as it is.
    batch:
        Number of images for an objective that is the same for every element.
    seed:
        One seed per element, or an int ``s`` meaning seeds ``s, s+1, ...``. Element ``b``
        of a batch equals a single run with seed ``seeds[b]``.
    device:
        Where to run; default: the model's device.
    chunk_size:
        Evaluate the batch in chunks of this many elements per forward/backward (the
        gradients add up, so the result is the same). Default: 8 (``CPU_CHUNK``) per CPU
        thread on the CPU, where chunks that fit the cache run faster than one big batch;
        the whole batch on GPUs.
        Objectives that couple elements (:func:`diversity`) always run whole.
    callback:
        Called as ``callback(step, values)`` after each step (``values`` of shape
        ``(B,)``, on the model's device: reading them on the host makes a GPU wait, so
        a progress callback reads them every few steps); may raise to stop -- the
        model is restored all the same.

    Returns
    -------
    MaximizeResult

    Raises
    ------
    ValueError
        Unknown site, channel or class out of range, an objective that needs spatial
        extent on a site without it, non-positive steps, mismatched batch or seeds.

    Example
    -------
    >>> from interpret.testing import chain_cnn
    >>> from interpret.neurons.maximization.objectives import channel
    >>> net = chain_cnn()
    >>> cfg = MaximizeConfig(size=32, steps=8)
    >>> res = maximize(net, channel("features.3", range(6)), normalize=None, config=cfg)
    >>> tuple(res.images.shape), tuple(res.curve.shape)
    ((6, 3, 32, 32), (8, 6))
    """
    if not isinstance(objective, Objective):
        raise TypeError(
            f"objective must be an Objective (channel(...), class_logit(...), ...), "
            f"not {type(objective).__name__}."
        )
    if config is None or isinstance(config, str):
        size = getattr(normalize, "size", None)
        config = preset(config or "lucid", **({"model_size": size} if size else {}))
    if not isinstance(config, MaximizeConfig):
        raise TypeError(f"config must be a MaximizeConfig or a preset name, not {type(config)}.")
    n = _batch_size(objective, batch)
    seeds = _seeds(seed, n)
    device = torch.device(device) if device is not None else model_device(model)
    dtype = _model_dtype(model)
    with torch.inference_mode(False):
        mean, std = _norm_stats(normalize, dtype, device)
    capture_sites = list(dict.fromkeys(_module_of(s) for s in objective.sites))
    if capture_sites:
        resolve_sites(model, capture_sites)  # unknown names fail here, before any work

    generators = [torch.Generator().manual_seed(s) for s in seeds]
    model_size = _pair(config.model_size, "model_size") if config.model_size else None

    def to_model(images: Tensor, rows: slice, randomize: bool) -> Tensor:
        transforms = config.transforms if randomize else ()
        once = config.resample == "once"
        x = apply_transforms(images, transforms, generators[rows], model_size, once=once)
        return (x - mean) / std

    chunks = _chunks(n, chunk_size, device, objective.couples)
    with preserved_state(model), torch.inference_mode(False), torch.enable_grad():
        elements = torch.arange(n)
        # on the device until the end: no host read per step
        curve = torch.empty(config.steps, n, dtype=dtype, device=device)
        final = torch.empty(n, dtype=dtype, device=device)
        param = parameterize(
            config.param,
            generators,
            config.image_size,
            std=config.init_std,
            decorrelate=config.decorrelate,
            pixel_output=config.pixel_output,
            decay_power=config.decay_power,
            channels=mean.shape[1],
            dtype=dtype,
            device=device,
        )
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        recorder = capture(model, capture_sites, mode="grad") if capture_sites else _no_capture()
        with recorder as acts:
            stops = HookSet()
            try:
                if not objective.needs_output and capture_sites:
                    _add_stop_hooks(model, objective.sites, acts, stops)
                if config.relu_gradient == "redirect":
                    redirect_relu_gradients(model, stops)
                update = _updater(config, param)
                randomized = round(config.transform_fraction * config.steps)
                for step in range(config.steps):
                    param.raw.grad = None
                    for rows in chunks:
                        images = param.images(rows)
                        x = to_model(images, rows, step < randomized)
                        # The first step checks that the model takes the input; errors of
                        # later steps are the model's own and pass through unchanged.
                        output = checked_forward(model, x, check=step == 0)
                        value = objective(acts, output, elements[rows])
                        total = value
                        for penalty in config.penalties:
                            total = total - penalty(images)
                        if not total.requires_grad:
                            raise ValueError(
                                "The objective does not depend on the image; check the "
                                "sites it reads."
                            )
                        (-total.sum()).backward()
                        curve[step, rows] = value.detach().to(dtype)
                    update(step, curve)
                    if callback is not None:
                        callback(step, curve[step].clone())
                with torch.no_grad():
                    for rows in chunks:
                        x = to_model(param.images(rows), rows, False)
                        value = objective(acts, checked_forward(model, x), elements[rows])
                        final[rows] = value.to(dtype)
                    final_images = param.images()
            finally:
                stops.undo()
                param.raw.grad = None
    return MaximizeResult(
        images=final_images.detach().float().cpu(),
        curve=curve.float().cpu(),
        final=final.float().cpu(),
        raw=param.raw.detach().cpu().clone(),
        labels=list(objective.element_labels(n)),
        description=objective.description,
        sites=objective.sites,
        seeds=seeds,
        settings={
            **config.describe(),
            "mean": mean.flatten().tolist(),
            "std": std.flatten().tolist(),
        },
    )


class _no_capture:
    """Stands in for :func:`capture` when the objective reads the output only."""

    def __enter__(self) -> dict[str, Tensor]:
        return {}

    def __exit__(self, *exc: object) -> None:
        return None


def _add_stop_hooks(model: nn.Module, keys: Iterable[str], acts: Any, stops: HookSet) -> None:
    needed = list(keys)

    def hook(_module: nn.Module, _inputs: Any, _output: Any) -> None:
        if all(key in acts for key in needed):
            raise StopForward  # every activation the objective needs is captured

    for name in dict.fromkeys(_module_of(k).split(":", 1)[0] for k in needed):
        stops.add(get_module(model, name).register_forward_hook(hook))


class _Adam:
    """Adam (Kingma & Ba 2015) as ``torch.optim.Adam`` computes it (betas 0.9, 0.999,
    eps 1e-8), elementwise, so batch elements never interact. Written out to keep the
    update explicit and to avoid the optimizer machinery's first-use import cost."""

    def __init__(
        self, param: Tensor, lr: float | Tensor, betas: tuple[float, float] = (0.9, 0.999)
    ) -> None:
        self.param, self.lr, self.betas, self.eps = param, lr, betas, 1e-8
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = 0

    @torch.no_grad()
    def step(self, ascent: Tensor) -> None:
        """One step *up* ``ascent`` (torch's Adam given ``grad = -ascent``)."""
        grad = ascent
        b1, b2 = self.betas
        self.t += 1
        self.m.lerp_(grad, 1 - b1)
        self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        denom = (self.v.sqrt() / (1 - b2**self.t) ** 0.5).add_(self.eps)
        if isinstance(self.lr, Tensor):  # one rate per batch element, (B, 1, ...)
            self.param.add_(self.m / denom * (self.lr / (1 - b1**self.t)))
        else:
            self.param.addcdiv_(self.m, denom, value=self.lr / (1 - b1**self.t))


def _chunks(n: int, chunk_size: int | None, device: torch.device, couples: bool) -> list[slice]:
    """Slices of the batch evaluated one after another (the gradient accumulates)."""
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}.")
    size = chunk_size or (CPU_CHUNK * torch.get_num_threads() if device.type == "cpu" else n)
    if couples or size >= n:
        return [slice(0, n)]
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _updater(
    config: MaximizeConfig, param: PixelImage | FourierImage
) -> Callable[[int, Tensor], None]:
    """The update after a step's backward: ascend, then regularize and clip.

    ``update(step, curve)`` reads ``curve[step]`` and ``curve[step - 1]`` (the objective
    before and after the previous update) to adapt each element's rate when
    ``config.lr_schedule == "adaptive"``."""
    raw = param.raw
    shape = (-1, *([1] * (raw.ndim - 1)))
    rates = torch.full((raw.shape[0],), config.lr, dtype=raw.dtype, device=raw.device)
    lowest, highest = config.lr / LR_RANGE[0], config.lr * LR_RANGE[1]
    adam = _Adam(raw, config.lr) if config.optimizer == "adam" else None

    @torch.no_grad()
    def update(step: int, curve: Tensor) -> None:
        if config.lr_schedule == "adaptive" and step > 0:
            rose = (curve[step] >= curve[step - 1]).to(raw.device)
            factor = torch.where(rose, LR_GROW, LR_SHRINK).to(raw.dtype)
            rates.mul_(factor).clamp_(lowest, highest)
        lr = rates.view(shape) if config.lr_schedule == "adaptive" else config.lr
        ascent = -raw.grad if raw.grad is not None else torch.zeros_like(raw)
        if adam is not None:
            adam.lr = lr
            adam.step(ascent)
        elif config.optimizer == "sgd":
            raw.add_(lr * ascent)
        else:
            sq = ascent.flatten(1).pow(2).sum(1).view(shape)
            step_size = torch.where(sq > 0, (config.desired_progress / sq).clamp(max=lr), lr)
            raw.add_(step_size * ascent)
        for regularizer in config.step_regularizers:
            regularizer(raw, ascent, step)
        param.project()
        raw.grad = None

    return update


def count_channels(
    model: nn.Module,
    site: str,
    *,
    size: int | tuple[int, int] = 64,
    channels: int = 3,
    device: torch.device | str | None = None,
) -> int:
    """Number of channels at ``site`` (dimension 1 of its activation), from one forward
    of a blank ``(1, channels, H, W)`` image: ``channel(site, range(count_channels(...)))``
    visualizes a whole layer."""
    h, w = _pair(size, "size")
    device = torch.device(device) if device is not None else model_device(model)
    dtype = _model_dtype(model)
    with preserved_state(model), capture(model, _module_of(site)) as acts:
        model.eval()
        with torch.no_grad():
            _ = model(torch.zeros(1, channels, h, w, device=device, dtype=dtype))
        act = acts[site]
    if act.ndim < 2:
        raise ValueError(f"Site {site!r} gives shape {tuple(act.shape)}, without channels.")
    return int(act.shape[1])


def evaluate_objective(
    model: nn.Module,
    objective: Objective,
    images: Tensor,
    *,
    normalize: Normalize | Any | None,
    elements: Tensor | Sequence[int] | int | None = None,
    model_size: int | tuple[int, int] | None = None,
) -> Tensor:
    """The objective on given images (optimized ones, photos, noise), shape ``(N,)``.

    Parameters
    ----------
    images:
        ``(N, C, H, W)`` in ``[0, 1]``; normalized with ``normalize`` (and resized to
        ``model_size``) as :func:`maximize` does.
    elements:
        Which element of a per-element objective scores each image: one int for all
        images (e.g. the unit of element 3 on every photo), or ``N`` of them. Default:
        image ``i`` is element ``i``.
    """
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be an Objective, not {type(objective).__name__}.")
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}.")
    n = images.shape[0]
    if elements is None:
        rows = torch.arange(n)
    elif isinstance(elements, int):
        rows = torch.full((n,), elements, dtype=torch.long)
    else:
        rows = torch.as_tensor(elements, dtype=torch.long).flatten()
        if rows.numel() != n:
            raise ValueError(f"{rows.numel()} elements for {n} images; give one per image.")
    device = model_device(model)
    dtype = _model_dtype(model)
    mean, std = _norm_stats(normalize, dtype, device)
    x = images.to(device=device, dtype=dtype)
    if model_size is not None:
        x = Resize(_pair(model_size, "model_size"))(x)
    x = (x - mean) / std
    sites = list(dict.fromkeys(_module_of(s) for s in objective.sites))
    with preserved_state(model), torch.no_grad():
        model.eval()
        if sites:
            with capture(model, sites) as acts:
                output = model(x)
                return objective(acts, output, rows).cpu()
        return objective({}, model(x), rows).cpu()
