"""Part correspondence by occlusion (Zeiler & Fergus 2013, Sec. 4.2, Fig. 8 and Table 1).

For images ``i = 1..N`` and a part (right eye, left eye, nose, ...) with a box in each
image, occlude the part and take at each site the feature difference
``eps_i = x_i - x~_i`` (clean minus occluded). The consistency of the change across
images is

    Delta = mean over pairs i < j of H(sign(eps_i), sign(eps_j)),

with ``H`` the Hamming distance normalised by the number of feature elements (the
fraction of elements whose signs differ; ``sign(0) = 0`` counts as its own value). Lower
means the part changes the representation the same way in every image: the model has
established a correspondence. The same statistic for random boxes of the same size (drawn
independently per image, several draws) is the yardstick; Table 1 reports
``mean +- spread`` per part and layer.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from interpret.core import (
    Result,
    capture,
    checked_forward,
    model_device,
    preserved_state,
    resolve_sites,
)
from interpret.core.frames import import_pandas
from interpret.occlusion.fills import FillSpec, resolve_fill

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CorrespondenceResult", "part_correspondence", "pairwise_sign_hamming"]


def pairwise_sign_hamming(eps: Tensor) -> Tensor:
    """``(N, N)`` float64 fraction of elements where ``sign(eps_i) != sign(eps_j)``.

    ``eps`` is ``(N, ...)``; computed exactly through one-hot sign counts in float64."""
    signs = torch.sign(eps.flatten(1))
    same = torch.zeros(len(eps), len(eps), dtype=torch.float64, device=eps.device)
    for value in (-1.0, 0.0, 1.0):
        hot = (signs == value).double()
        same += hot @ hot.T
    return (1.0 - same / signs.shape[1]).cpu()


def _pair_values(matrix: Tensor) -> Tensor:
    """Entries ``i < j`` of the last two dims, flattened."""
    n = matrix.shape[-1]
    i, j = torch.triu_indices(n, n, offset=1)
    return matrix[..., i, j].reshape(-1)


def _std(values: Tensor) -> float:
    return float(values.std()) if values.numel() > 1 else 0.0


@dataclass(frozen=True)
class CorrespondenceResult(Result):
    """Sign-change consistency per part and site (Table 1).

    Attributes
    ----------
    parts, sites:
        Part names and capture keys, in order.
    boxes:
        part -> ``(N, 4)`` int64 ``(top, left, bottom, right)`` occluded per image.
    random_boxes:
        part -> ``(R, N, 4)`` random boxes of the same sizes.
    hamming:
        part -> site -> ``(N, N)`` normalised Hamming distances between sign changes.
    random_hamming:
        part -> site -> ``(R, N, N)`` the same for each random draw.
    fill, seed, image_size, random_placement:
        The occluder fill, the generator seed of the random boxes, the image ``(H, W)`` and
        how random boxes were placed.
    """

    parts: tuple[str, ...]
    sites: tuple[str, ...]
    boxes: dict[str, Tensor]
    random_boxes: dict[str, Tensor]
    hamming: dict[str, dict[str, Tensor]]
    random_hamming: dict[str, dict[str, Tensor]]
    fill: str
    seed: int
    image_size: tuple[int, int]
    random_placement: str = "independent"

    def statistic(self, part: str, site: str) -> tuple[float, float]:
        """``(mean, std)`` over image pairs of the part's normalised Hamming distance."""
        values = _pair_values(self.hamming[part][site])
        return float(values.mean()), _std(values)

    def random_statistic(self, part: str, site: str) -> tuple[float, float, float]:
        """``(mean, std over pairs of all draws, std of the per-draw means)`` for random
        boxes of the part's size."""
        per_draw = self.random_hamming[part][site]
        pairs = _pair_values(per_draw)
        means = torch.stack([_pair_values(m).mean() for m in per_draw])
        return float(pairs.mean()), _std(pairs), _std(means)

    def to_frame(self) -> pd.DataFrame:
        """Table 1 in long form, one row per part and site: ``part``, ``site``, ``mean`` and
        ``std`` over image pairs of the normalised Hamming distance, ``random_mean``,
        ``random_std``, ``random_draw_std`` for part-sized random boxes, ``images`` and
        ``random_draws``. ``.pivot(index="part", columns="site", values="mean")`` gives
        Table 1's layout."""
        rows: list[dict[str, object]] = []
        n = self.boxes[self.parts[0]].shape[0] if self.parts else 0
        for part in self.parts:
            for site in self.sites:
                mean, std = self.statistic(part, site)
                r_mean, r_std, r_draw_std = self.random_statistic(part, site)
                rows.append(
                    {
                        "part": part,
                        "site": site,
                        "mean": mean,
                        "std": std,
                        "random_mean": r_mean,
                        "random_std": r_std,
                        "random_draw_std": r_draw_std,
                        "images": n,
                        "random_draws": int(self.random_boxes[part].shape[0]),
                    }
                )
        columns = ("part", "site", "mean", "std", "random_mean", "random_std")
        columns += ("random_draw_std", "images", "random_draws")
        return import_pandas().DataFrame(rows, columns=list(columns))

    def table(self) -> pd.DataFrame:
        """Deprecated alias of :meth:`to_frame` (since 0.2, for one release); it now
        returns the ``DataFrame`` (``pandas.DataFrame(result.table())`` still works)."""
        warnings.warn(
            "CorrespondenceResult.table is deprecated since 0.2 and will be removed in the "
            "next release; use .to_frame() instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.to_frame()


def _as_boxes(value: Tensor | Sequence, n: int, hw: tuple[int, int], part: str) -> Tensor:
    boxes = torch.as_tensor(value, dtype=torch.int64)
    if boxes.shape == (4,):
        boxes = boxes.expand(n, 4)
    if boxes.shape != (n, 4):
        raise ValueError(
            f"Part {part!r}: boxes must be (4,) or (N={n}, 4) (top, left, bottom, right), "
            f"got {tuple(boxes.shape)}."
        )
    top, left, bottom, right = boxes.unbind(1)
    bad = (top < 0) | (left < 0) | (bottom > hw[0]) | (right > hw[1])
    if bad.any():
        i = int(bad.nonzero()[0])
        raise ValueError(
            f"Part {part!r}: box {boxes[i].tolist()} of image {i} lies outside the "
            f"{hw[0]}x{hw[1]} image; boxes are (top, left, bottom, right) half-open."
        )
    if ((bottom <= top) | (right <= left)).any():
        raise ValueError(f"Part {part!r}: a box is empty (bottom <= top or right <= left).")
    return boxes.clone()


def _random_boxes(
    boxes: Tensor, draws: int, hw: tuple[int, int], gen: torch.Generator, shared: bool
) -> Tensor:
    """``(R, N, 4)`` boxes with the sizes of ``boxes`` at uniform random positions; with
    ``shared`` one uniform draw per ``R`` places every image's box at the same relative
    position (the same place, for equal sizes)."""
    sizes = boxes[:, 2:] - boxes[:, :2]
    room = torch.tensor(hw) - sizes + 1
    shape = (draws, 1, 2) if shared else (draws, *sizes.shape)
    corner = (torch.rand(shape, generator=gen, dtype=torch.float64) * room).long()
    return torch.cat([corner, corner + sizes], -1)


def part_correspondence(
    model: nn.Module,
    images: Tensor,
    parts: Mapping[str, Tensor | Sequence],
    sites: str | Sequence[str],
    *,
    fill: FillSpec = "gray",
    random_draws: int = 10,
    random_placement: str = "independent",
    seed: int = 0,
    batch_size: int = 32,
) -> CorrespondenceResult:
    """Measure how consistently occluding each part changes the features at ``sites``.

    Parameters
    ----------
    model:
        Any model; run in eval mode under ``inference_mode``, state restored.
    images:
        ``(N, C, H, W)``, N >= 2, in the model's input space.
    parts:
        Part name -> boxes ``(N, 4)`` (or one ``(4,)`` box for aligned images),
        ``(top, left, bottom, right)`` half-open input pixels.
    sites:
        Capture keys of the layers compared (Table 1: layers 5 and 7).
    fill:
        The occluder's fill (see :func:`interpret.occlusion.fills.resolve_fill`).
    random_draws:
        Random-box draws per part (each draw: one random box per image, part-sized).
    random_placement:
        ``"independent"``: each image's random box anywhere in it (random object regions,
        the paper's control); ``"shared"``: one random place per draw for all images, a
        stricter control for aligned images (occluding the same place anywhere).
    seed:
        Seed of the ``torch.Generator`` drawing the random boxes.
    batch_size:
        Images per forward. Clean and occluded images go through in identical chunks, so
        features the occluder cannot reach differ by exactly zero.
    """
    if not isinstance(images, Tensor) or images.ndim != 4 or len(images) < 2:
        raise ValueError("images must be a tensor (N, C, H, W) with N >= 2: pairs are compared.")
    if not parts:
        raise ValueError("Give at least one part: {'right eye': boxes (N, 4), ...}.")
    if random_draws < 1 or batch_size < 1:
        raise ValueError("random_draws and batch_size must be >= 1.")
    if random_placement not in ("independent", "shared"):
        raise ValueError(
            f"random_placement must be 'independent' or 'shared', not {random_placement!r}."
        )
    keys = (sites,) if isinstance(sites, str) else tuple(sites)
    if not keys:
        raise ValueError("Give at least one site.")
    selectors = [k.split("#")[0] for k in keys]
    resolve_sites(model, selectors)
    n, hw = len(images), (int(images.shape[-2]), int(images.shape[-1]))
    boxes = {name: _as_boxes(b, n, hw, name) for name, b in parts.items()}
    gen = torch.Generator().manual_seed(seed)
    shared = random_placement == "shared"
    random_boxes = {
        name: _random_boxes(b, random_draws, hw, gen, shared) for name, b in boxes.items()
    }
    filler = resolve_fill(fill)
    device = model_device(model)
    images = images.to(device)
    baseline = filler.baseline(images, (1, 1))

    def features(batch_boxes: Tensor | None) -> dict[str, list[Tensor]]:
        out: dict[str, list[Tensor]] = {k: [] for k in keys}
        for start in range(0, n, batch_size):
            x = images[start : start + batch_size]
            if batch_boxes is not None:
                x = x.clone()
                chunk = batch_boxes[start : start + batch_size].tolist()
                for i, (top, left, bottom, right) in enumerate(chunk):
                    x[i, :, top:bottom, left:right] = baseline[start + i, :, top:bottom, left:right]
            checked_forward(model, x)
            for k in keys:
                out[k].append(acts[k].flatten(1).double())
        return out

    hamming: dict[str, dict[str, Tensor]] = {}
    random_hamming: dict[str, dict[str, Tensor]] = {}
    with preserved_state(model), capture(model, selectors) as acts, torch.inference_mode():
        model.eval()
        clean = {k: torch.cat(v) for k, v in features(None).items()}

        def distances(batch_boxes: Tensor) -> dict[str, Tensor]:
            occluded = features(batch_boxes)
            return {k: pairwise_sign_hamming(clean[k] - torch.cat(occluded[k])) for k in keys}

        for name in boxes:
            hamming[name] = distances(boxes[name])
            draws = [distances(rb) for rb in random_boxes[name]]
            random_hamming[name] = {k: torch.stack([d[k] for d in draws]) for k in keys}
    return CorrespondenceResult(
        parts=tuple(boxes),
        sites=keys,
        boxes=boxes,
        random_boxes=random_boxes,
        hamming=hamming,
        random_hamming=random_hamming,
        fill=filler.describe(),
        seed=seed,
        image_size=hw,
        random_placement=random_placement,
    )
