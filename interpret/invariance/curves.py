"""Invariance curves: feature distance and true-label probability under a transformation.

Zeiler & Fergus (2013), Sec. 4.4 and Fig. 5: for a few images and a transformation
family (vertical translation, scale, rotation), plot over the parameter (i) the Euclidean
distance between the feature vectors of the original and the transformed image at two
layers (their 1 and 7) and (ii) the probability of the true label. Small distances and a
flat probability mean the representation (or the classifier) is invariant.

Every transformed copy of every image is made on the model's device and pushed through
the model in batches of ``batch_size`` images (parameters batched together).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from interpret.core import Result, capture, model_device, preserved_state, resolve_sites
from interpret.core.frames import column, grid_keys, import_pandas, make_frame, name_column
from interpret.core.sites import SiteSelector
from interpret.invariance.transforms import Transformation, _check_images

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["InvarianceResult", "TransformCurves", "invariance_curves", "NORMALIZATIONS"]

NORMALIZATIONS = ("none", "reference", "max", "sqrt_dim")
Normalize = Literal["none", "reference", "max", "sqrt_dim"]


@dataclass(frozen=True)
class TransformCurves(Result):
    """The curves of one transformation family.

    Attributes
    ----------
    name, unit, fill:
        The transformation, its parameter unit and fill mode.
    params:
        ``(P,)`` float64 parameter values (x axis).
    distances:
        ``site -> (N, P)`` float64 raw Euclidean distances ``||f(T_p x) - f(x)||`` (or
        ``||f(T_p x) - T_p f(x)||`` when ``compare="equivariance"``), not normalized.
    true_prob:
        ``(N, P)`` probability of each image's true label on the transformed image.
    predicted:
        ``(N, P)`` int64 most probable class on the transformed image.
    examples:
        ``(N, K, C, h, w)`` float32 thumbnails of the transformed images at
        ``example_params`` (model input space), for the first column of Fig. 5.
    example_params:
        ``(K,)`` the parameters of the thumbnails.
    """

    name: str
    unit: str
    fill: str
    params: Tensor
    distances: dict[str, Tensor]
    true_prob: Tensor
    predicted: Tensor
    examples: Tensor
    example_params: Tensor


@dataclass(frozen=True)
class InvarianceResult(Result):
    """Invariance curves for one set of images under one or more transformations.

    Attributes
    ----------
    sites:
        The sites whose features were compared (flattened per image).
    labels:
        ``(N,)`` int64 true label of each image.
    label_source:
        ``"given"`` or ``"predicted"`` (argmax on the untransformed image).
    reference_prob:
        ``(N,)`` probability of the label on the untransformed image.
    reference_norms:
        ``site -> (N,)`` float64 ``||f(x)||`` of the untransformed features.
    feature_dims:
        ``site -> D`` number of features per image at the site.
    normalize:
        How :meth:`distance` (and the figures) normalize by default: ``"none"``,
        ``"reference"`` (divide by ``||f(x)||``: relative change), ``"max"`` (divide by
        each curve's maximum, so curves peak at 1) or ``"sqrt_dim"`` (divide by
        ``sqrt(D)``: RMS change per feature).
    compare:
        ``"invariance"`` (Z&F) or ``"equivariance"``.
    curves:
        One :class:`TransformCurves` per transformation, in the order given.
    image_names:
        ``N`` names for legends.
    """

    sites: tuple[str, ...]
    labels: Tensor
    label_source: str
    reference_prob: Tensor
    reference_norms: dict[str, Tensor]
    feature_dims: dict[str, int]
    normalize: str
    compare: str
    curves: tuple[TransformCurves, ...]
    image_names: tuple[str, ...]

    def transform(self, which: int | str) -> TransformCurves:
        """The curves of a transformation, by position or name."""
        if isinstance(which, int):
            return self.curves[which]
        for curves in self.curves:
            if curves.name == which:
                return curves
        names = ", ".join(repr(c.name) for c in self.curves)
        raise ValueError(f"No transformation {which!r}; this result has {names}.")

    def to_frame(self, class_names: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per (transformation, site, image, parameter): the curves in long form.

        Columns: ``transform``, ``unit``, ``site``, ``image_index`` and ``image_name`` (the
        result's ``image_names``), ``param_index``, ``param``, ``distance`` (raw, as in
        ``curves[t].distances``; normalize with ``reference_norm`` or ``feature_dim``),
        ``reference_norm``, ``feature_dim``, ``label`` (``label_name``), ``true_prob``,
        ``predicted`` (``predicted_name``; names from ``class_names``).
        """
        pd = import_pandas()
        frames = []
        for curves in self.curves:
            n, p = curves.true_prob.shape
            keys = grid_keys((n, p), ("image_index", "param_index"))
            image = keys["image_index"]
            label = column(self.labels).astype(np.int64)[image]
            predicted = column(curves.predicted).astype(np.int64)
            for site in self.sites:
                columns: dict[str, Any] = {
                    "transform": curves.name,
                    "unit": curves.unit,
                    "site": site,
                    "image_index": image,
                    "image_name": name_column(image, self.image_names or None),
                    "param_index": keys["param_index"],
                    "param": column(curves.params)[keys["param_index"]],
                    "distance": column(curves.distances[site]),
                    "reference_norm": column(self.reference_norms[site])[image],
                    "feature_dim": self.feature_dims[site],
                    "label": label,
                    "label_name": name_column(label, class_names),
                    "true_prob": column(curves.true_prob),
                    "predicted": predicted,
                    "predicted_name": name_column(predicted, class_names),
                }
                frames.append(make_frame(columns, n * p))
        return pd.concat(frames, ignore_index=True)

    def distance(self, which: int | str, site: str, normalize: str | None = None) -> Tensor:
        """``(N, P)`` distances at ``site`` for a transformation, normalized as asked
        (default: the result's ``normalize``)."""
        normalize = self.normalize if normalize is None else normalize
        _check_normalize(normalize)
        if site not in self.sites:
            raise ValueError(f"No site {site!r}; this result has {', '.join(self.sites)}.")
        raw = self.transform(which).distances[site]
        if normalize == "reference":
            return raw / self.reference_norms[site].clamp_min(1e-12).unsqueeze(1)
        if normalize == "max":
            return raw / raw.amax(dim=1, keepdim=True).clamp_min(1e-12)
        if normalize == "sqrt_dim":
            return raw / float(self.feature_dims[site]) ** 0.5
        return raw


def _check_normalize(normalize: str) -> None:
    if normalize not in NORMALIZATIONS:
        raise ValueError(
            f"normalize must be one of {', '.join(map(repr, NORMALIZATIONS))}, not {normalize!r}."
        )


def _probabilities(output: Any, output_fn: Callable[[Any], Tensor] | None) -> Tensor:
    if output_fn is not None:
        probs = output_fn(output)
    elif isinstance(output, Tensor) and output.ndim == 2:
        probs = output.float().softmax(dim=1)
    else:
        got = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
        raise ValueError(
            f"The model output is {got}, not logits (N, classes); pass output_fn=... turning "
            "the output into class probabilities (N, classes)."
        )
    if not isinstance(probs, Tensor) or probs.ndim != 2:
        raise ValueError("output_fn must return class probabilities of shape (N, classes).")
    return probs


def _thumbnails(images: Tensor, size: int) -> Tensor:
    h, w = images.shape[-2:]
    if max(h, w) <= size:
        return images.float().cpu()
    scale = size / max(h, w)
    out = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(images.float(), size=out, mode="bilinear", antialias=True).cpu()


def _as_transforms(transforms: Transformation | Iterable[Transformation]) -> list[Transformation]:
    listed = [transforms] if isinstance(transforms, Transformation) else list(transforms)
    if not listed:
        raise ValueError("Pass at least one transformation (e.g. vertical_translation()).")
    for t in listed:
        if not isinstance(t, Transformation):
            raise TypeError(
                f"Transformations are built with vertical_translation(), scaling(), rotation() "
                f"or custom_transform(), not {type(t).__name__}."
            )
    return listed


def invariance_curves(
    model: nn.Module,
    images: Tensor,
    transforms: Transformation | Sequence[Transformation],
    sites: SiteSelector | Sequence[SiteSelector],
    *,
    labels: Tensor | Sequence[int] | None = None,
    normalize: Normalize = "none",
    compare: Literal["invariance", "equivariance"] = "invariance",
    output_fn: Callable[[Any], Tensor] | None = None,
    batch_size: int = 32,
    examples: int = 3,
    thumbnail: int = 96,
    image_names: Sequence[str] | None = None,
) -> InvarianceResult:
    """Feature distance and true-label probability as images are transformed (Z&F Fig. 5).

    Parameters
    ----------
    model:
        Any classifier ``nn.Module``; run in eval mode under ``torch.no_grad``,
        its mode and ``requires_grad`` restored after, no hook left behind.
    images:
        ``(N, C, H, W)`` float images as the model takes them (preprocessed).
    transforms:
        One :class:`~interpret.invariance.transforms.Transformation` or several.
    sites:
        Site names whose outputs are compared, flattened per image (Z&F: layers 1 and 7).
        A module called twice gives its first call.
    labels:
        ``(N,)`` true labels; default the argmax of the untransformed prediction.
    normalize:
        Default normalization of :meth:`InvarianceResult.distance` (raw distances are
        always stored).
    compare:
        ``"invariance"``: ``||f(T_p x) - f(x)||``. ``"equivariance"``: ``||f(T_p x) -
        T_p f(x)||``, the feature map transformed the same way (built-in spatial
        transformations only; sites must have spatial extent ``(N, C, h, w)``).
    output_fn:
        Turns the model output into probabilities ``(N, classes)``; default softmax of a
        ``(N, classes)`` logits tensor.
    batch_size:
        Images per forward pass (transformed copies of several parameters batched).
    examples, thumbnail:
        Number of parameters at which transformed thumbnails (longest side ``thumbnail``
        pixels) are kept for the figure.
    image_names:
        ``N`` names for legends.

    Returns
    -------
    InvarianceResult

    Example
    -------
    >>> import torch
    >>> from interpret.testing import chain_cnn
    >>> from interpret.invariance import vertical_translation
    >>> net = chain_cnn()
    >>> res = invariance_curves(net, torch.randn(2, 3, 24, 24),
    ...                         vertical_translation([-4, 0, 4]), ["features.0", "classifier"])
    >>> tuple(res.distance("vertical translation", "features.0").shape)
    (2, 3)
    """
    transforms = _as_transforms(transforms)
    if compare not in ("invariance", "equivariance"):
        raise ValueError(f"compare must be 'invariance' or 'equivariance', not {compare!r}.")
    _check_normalize(normalize)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if examples < 0:
        raise ValueError(f"examples must be non-negative, got {examples}.")
    _check_images(images, any(t.spatial for t in transforms))
    if compare == "equivariance":
        for t in transforms:
            if not t.spatial:
                raise ValueError(
                    f"compare='equivariance' needs built-in spatial transformations; "
                    f"{t.name!r} is a custom callable."
                )
    n = images.shape[0]
    if n == 0:
        raise ValueError("images is empty: pass at least one image.")
    names = tuple(image_names) if image_names is not None else tuple(f"image {i}" for i in range(n))
    if len(names) != n:
        raise ValueError(f"image_names has {len(names)} names for {n} images.")
    site_names = tuple(str(s) for s in resolve_sites(model, sites))
    device = model_device(model)
    images = images.detach().to(device)

    # no_grad rather than inference_mode: the result must hold ordinary tensors
    with preserved_state(model), capture(model, site_names) as acts, torch.no_grad():
        model.eval()
        probs0 = _probabilities(model(images), output_fn)
        reference = {s: acts[s] for s in site_names}
        label_source = "predicted" if labels is None else "given"
        target = _labels(labels, probs0, n)
        for site, feats in reference.items():
            if compare == "equivariance" and (feats.ndim != 4 or min(feats.shape[-2:]) < 2):
                raise ValueError(
                    f"Site {site!r} has no spatial extent (output {tuple(feats.shape)}); "
                    "equivariance compares feature maps (N, C, h, w) with h, w >= 2. Pick a "
                    "convolutional site or use compare='invariance'."
                )
        curves = tuple(
            _sweep(model, acts, images, t, reference, target, compare, output_fn, batch_size)
            for t in transforms
        )
        curves = tuple(
            _with_examples(c, t, images, examples, thumbnail) for c, t in zip(curves, transforms)
        )
    ref_flat = {s: f.reshape(n, -1).double() for s, f in reference.items()}
    return InvarianceResult(
        sites=site_names,
        labels=target.cpu(),
        label_source=label_source,
        reference_prob=probs0.gather(1, target.view(-1, 1)).squeeze(1).float().cpu(),
        reference_norms={s: f.norm(dim=1).cpu() for s, f in ref_flat.items()},
        feature_dims={s: int(f.shape[1]) for s, f in ref_flat.items()},
        normalize=normalize,
        compare=compare,
        curves=curves,
        image_names=names,
    )


def _labels(labels: Tensor | Sequence[int] | None, probs: Tensor, n: int) -> Tensor:
    if labels is None:
        return probs.argmax(dim=1)
    target = torch.as_tensor(labels).to(probs.device)
    if target.ndim != 1 or target.numel() != n or target.is_floating_point():
        raise ValueError(
            f"labels must be {n} integer class indices, got shape {tuple(target.shape)}."
        )
    target = target.long()
    if bool((target < 0).any()) or bool((target >= probs.shape[1]).any()):
        raise ValueError(f"labels must lie in [0, {probs.shape[1]}) (the model's classes).")
    return target


def _sweep(
    model: nn.Module,
    acts: Any,
    images: Tensor,
    transform: Transformation,
    reference: dict[str, Tensor],
    target: Tensor,
    compare: str,
    output_fn: Callable[[Any], Tensor] | None,
    batch_size: int,
) -> TransformCurves:
    n = images.shape[0]
    per_chunk = max(1, batch_size // n)  # parameters per transformed block
    dists: dict[str, list[Tensor]] = {s: [] for s in reference}
    probs: list[Tensor] = []
    preds: list[Tensor] = []
    rows_target = target.repeat(per_chunk)
    for start in range(0, transform.params.numel(), per_chunk):
        params = transform.params[start : start + per_chunk]
        moved = transform(images, params)  # (p, N, C, H, W) on the device
        rows = moved.reshape(-1, *moved.shape[2:])  # row r: parameter r // N, image r % N
        if compare == "equivariance":
            bases = {
                s: transform.on_features(ref, params, images.shape[-2:]).flatten(0, 1)
                for s, ref in reference.items()
            }
        for lo in range(0, rows.shape[0], batch_size):
            hi = min(lo + batch_size, rows.shape[0])
            prob = _probabilities(model(rows[lo:hi]), output_fn)
            probs.append(prob.gather(1, rows_target[lo:hi].view(-1, 1))[:, 0].float())
            preds.append(prob.argmax(dim=1))
            for site, ref in reference.items():
                if compare == "equivariance":
                    base = bases[site][lo:hi]
                else:
                    base = ref[torch.arange(lo, hi, device=ref.device) % n]
                feats = acts[site]
                if feats.shape != base.shape:
                    raise ValueError(
                        f"Site {site!r} gives {tuple(feats.shape[1:])} on transformed images but "
                        f"{tuple(base.shape[1:])} on the originals; a transformation must keep "
                        "the feature size (keep the image size)."
                    )
                dists[site].append((feats.double() - base.double()).flatten(1).norm(dim=1))
    p = transform.params.numel()

    def table(chunks: list[Tensor]) -> Tensor:
        return torch.cat(chunks).reshape(p, n).T.contiguous().cpu()

    return TransformCurves(
        name=transform.name,
        unit=transform.unit,
        fill=transform.fill,
        params=transform.params.clone(),
        distances={s: table(d) for s, d in dists.items()},
        true_prob=table(probs),
        predicted=table(preds),
        examples=torch.empty(0),
        example_params=torch.empty(0, dtype=torch.float64),
    )


def _with_examples(
    curves: TransformCurves, transform: Transformation, images: Tensor, k: int, size: int
) -> TransformCurves:
    p = transform.params.numel()
    k = min(k, p)
    if k == 0:
        chosen = torch.empty(0, dtype=torch.long)
    else:
        chosen = torch.linspace(0, p - 1, k).round().long().unique()
    params = transform.params[chosen]
    if chosen.numel():
        moved = transform(images, params)  # (K, N, C, H, W)
        thumbs = _thumbnails(moved.reshape(-1, *moved.shape[2:]), size)
        thumbs = thumbs.reshape(moved.shape[0], moved.shape[1], *thumbs.shape[1:]).transpose(0, 1)
    else:
        thumbs = torch.empty(images.shape[0], 0, *images.shape[1:])
    return TransformCurves(
        name=curves.name,
        unit=curves.unit,
        fill=curves.fill,
        params=curves.params,
        distances=curves.distances,
        true_prob=curves.true_prob,
        predicted=curves.predicted,
        examples=thumbs.contiguous(),
        example_params=params.clone(),
    )
