"""Binary activation codes against real-valued features: verification and retrieval.

DeepID2+ (Sun, Wang & Tang, CVPR 2015, Sec. 5.1) binarises its features by activity
(a neuron is 1 when active, 0 when not) and finds them nearly as good as the real
values: 99.47% (real, Joint Bayesian) vs 99.12% (binary, Joint Bayesian) vs 97.47%
(binary, Hamming distance) LFW verification. :func:`compare_codes` makes that table for
any layer: verification accuracy at the best distance threshold and top-1 retrieval,
for the real vectors (Euclidean, cosine) and for their binary codes (Hamming).

Pairs need the vectors themselves, so this works on a capped sample held in memory:
``Selectivity(site, sample=2000)`` keeps a uniform reservoir sample of the scanned
images' vectors (memory ``sample x D``), or pass vectors you have. All ``n (n - 1) / 2``
pairs are used; ``n`` is capped at ``max_vectors`` (default 4096) to keep the pair
distances (``n^2`` float64) in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from interpret.core.naming import renamed
from interpret.core.results import Result

__all__ = [
    "VectorSample",
    "CodeComparison",
    "binarize",
    "pairwise_distances",
    "verification_accuracy",
    "retrieval_accuracy",
    "compare_codes",
]

METRICS = ("euclidean", "cosine", "hamming")


@dataclass(frozen=True)
class VectorSample(Result):
    """A uniform sample of image vectors from a scan (reservoir by image index).

    ``vectors`` ``(n, D)`` float32, ``image_index`` ``(n,)`` dataset positions (``index``:
    deprecated alias, for one release), ``labels``
    ``(n,)`` int64 (-1: unlabelled) or ``None``; ``capacity`` the cap, ``seen`` the
    number of images offered, ``seed`` the reservoir seed. The sample depends only on the
    image indices and the seed, so it is the same however the scan was sharded.
    """

    vectors: Tensor
    image_index: Tensor
    labels: Tensor | None
    capacity: int
    seen: int
    seed: int

    renamed_fields: ClassVar[dict[str, str]] = {"index": "image_index"}
    index = renamed("index", "image_index")


@dataclass(frozen=True)
class CodeComparison(Result):
    """Verification and retrieval with real vectors and with binary codes.

    One entry per method in ``methods`` (``"real/euclidean"``, ``"real/cosine"``,
    ``"binary/hamming"``): ``verification_accuracy`` (balanced accuracy of "same class
    iff distance <= threshold" over all same- and different-class pairs, at the best
    threshold), ``verification_threshold`` (that distance), ``retrieval_top1``
    (leave-one-out nearest neighbour has the query's class; ties among nearest
    neighbours count as the share of them with the right class).
    """

    methods: tuple[str, ...]
    verification_accuracy: Tensor
    verification_threshold: Tensor
    retrieval_top1: Tensor
    num_vectors: int
    num_same_pairs: int
    num_different_pairs: int
    code_threshold: float | Tensor
    mean_active_bits: float

    def summary(self) -> str:
        """The table as text, one method per line."""
        lines = [
            f"{self.num_vectors} vectors, {self.num_same_pairs} same / "
            f"{self.num_different_pairs} different pairs; codes: {self.mean_active_bits:.1%} "
            "bits set",
            f"{'method':<16} {'verification':>12} {'threshold':>10} {'top-1':>7}",
        ]
        for i, name in enumerate(self.methods):
            lines.append(
                f"{name:<16} {float(self.verification_accuracy[i]):>12.2%} "
                f"{float(self.verification_threshold[i]):>10.4g} "
                f"{float(self.retrieval_top1[i]):>7.2%}"
            )
        return "\n".join(lines)


def binarize(vectors: Tensor, threshold: float | Tensor | str = 0.0) -> Tensor:
    """Binary codes ``(N, D)`` bool: ``vectors > threshold``.

    ``threshold``: a number (0 gives DeepID2+'s active / inactive codes of ReLU
    features), a ``(D,)`` tensor per neuron, or ``"median"`` (each neuron's median over
    these vectors, giving balanced bits).
    """
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be (N, D), got shape {tuple(vectors.shape)}.")
    if isinstance(threshold, str):
        if threshold != "median":
            raise ValueError(
                f"threshold must be a number, a (D,) tensor or 'median', not {threshold!r}."
            )
        threshold = vectors.median(0).values
    if isinstance(threshold, Tensor) and threshold.shape not in ((), (vectors.shape[1],)):
        raise ValueError(
            f"A threshold tensor must have shape ({vectors.shape[1]},), got "
            f"{tuple(threshold.shape)}."
        )
    return vectors > threshold


def pairwise_distances(a: Tensor, metric: str) -> Tensor:
    """``(n, n)`` float64 distances between the rows of ``a``.

    ``"euclidean"``: L2; ``"cosine"``: ``1 - cos`` (zero vectors have cosine 0);
    ``"hamming"``: number of differing bits of boolean codes (exact integers).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}.")
    if metric == "hamming":
        if a.dtype != torch.bool:
            raise TypeError("Hamming distance needs boolean codes; use binarize(vectors) first.")
        c = a.to(torch.float64)
        return c @ (1 - c).T + (1 - c) @ c.T
    x = a.to(torch.float64)
    if metric == "euclidean":
        return torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    unit = x / x.norm(dim=1, keepdim=True).clamp(min=1e-300)
    return (1.0 - unit @ unit.T).clamp(min=0.0)


def _check_labels(labels: Tensor, n: int) -> Tensor:
    labels = torch.as_tensor(labels).cpu()
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"labels must be ({n},), one per vector, got shape {tuple(labels.shape)}.")
    if labels.is_floating_point():
        raise TypeError("labels must be integers.")
    return labels.long()


def verification_accuracy(distances: Tensor, labels: Tensor) -> tuple[float, float, int, int]:
    """Best-threshold balanced verification accuracy over all pairs ``i < j``.

    A pair is called "same" when its distance is ``<= t``; the accuracy is the mean of
    the true-same and true-different rates (what a balanced pair set like LFW's 50/50
    measures), maximised over every distinct distance ``t`` (ties: the smallest ``t``).
    Returns ``(accuracy, threshold, num_same_pairs, num_different_pairs)``.
    """
    n = distances.shape[0]
    labels = _check_labels(labels, n)
    i, j = torch.triu_indices(n, n, offset=1)
    d = distances[i, j]
    same = labels[i] == labels[j]
    n_same, n_diff = int(same.sum()), int((~same).sum())
    if n_same == 0 or n_diff == 0:
        raise ValueError(
            f"Verification needs same-class and different-class pairs; got {n_same} same and "
            f"{n_diff} different. Use more vectors or more classes."
        )
    order = torch.sort(d, stable=True).indices
    d, same = d[order], same[order]
    tp = same.cumsum(0).to(torch.float64)
    fp = (~same).cumsum(0).to(torch.float64)
    last = torch.ones_like(same)
    last[:-1] = d[1:] != d[:-1]  # last position of each run of equal distances
    ba = (tp / n_same + 1.0 - fp / n_diff)[last] / 2
    best = int(torch.argmax(ba))
    return float(ba[best]), float(d[last][best]), n_same, n_diff


def retrieval_accuracy(distances: Tensor, labels: Tensor) -> float:
    """Leave-one-out top-1 retrieval: share of queries whose nearest other vector has
    their class; with several nearest at the same distance, the share of those that do."""
    n = distances.shape[0]
    labels = _check_labels(labels, n)
    if n < 2:
        raise ValueError("Retrieval needs at least two vectors.")
    d = distances.clone()
    d.fill_diagonal_(float("inf"))
    nearest = d == d.min(1, keepdim=True).values
    hits = (nearest & (labels.unsqueeze(0) == labels.unsqueeze(1))).sum(1)
    return float((hits / nearest.sum(1)).mean())


def compare_codes(
    source: Tensor | VectorSample | Result,
    labels: Tensor | None = None,
    *,
    threshold: float | Tensor | str = 0.0,
    metrics: Sequence[str] = ("euclidean", "cosine"),
    max_vectors: int = 4096,
) -> CodeComparison:
    """The DeepID2+ table for a layer: real vectors vs their binary codes.

    Parameters
    ----------
    source:
        ``(n, D)`` vectors with ``labels``; or a :class:`VectorSample`; or a
        ``SelectivityResult`` scanned with ``sample=...``.
    labels:
        ``(n,)`` int class labels when ``source`` is a tensor. Vectors labelled ``< 0``
        are left out.
    threshold:
        Code threshold for :func:`binarize`.
    metrics:
        Distances for the real vectors (``"euclidean"``, ``"cosine"``).
    max_vectors:
        Cap on ``n`` (pair distances take ``n^2`` float64).

    Example
    -------
    >>> import torch
    >>> x = torch.relu(torch.randn(60, 16, generator=torch.Generator().manual_seed(0)))
    >>> table = compare_codes(x, torch.arange(60) % 3)
    >>> table.methods
    ('real/euclidean', 'real/cosine', 'binary/hamming')
    """
    sample = getattr(source, "sample", source) if not isinstance(source, Tensor) else None
    if sample is None and not isinstance(source, Tensor):
        raise ValueError(
            "This result holds no vector sample; scan with Selectivity(..., sample=2000)."
        )
    if isinstance(sample, VectorSample):
        vectors = sample.vectors
        if labels is None:
            if sample.labels is None:
                raise ValueError(
                    "The sample has no labels; pass labels=... (one per sampled vector)."
                )
            labels = sample.labels
    elif isinstance(source, Tensor):
        vectors = source
        if labels is None:
            raise ValueError("Pass labels=... (one per vector) with a tensor of vectors.")
    else:
        raise TypeError(
            "source must be a tensor, a VectorSample or a SelectivityResult, not "
            f"{type(source).__name__}."
        )
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be (n, D), got shape {tuple(vectors.shape)}.")
    labels = _check_labels(labels, vectors.shape[0])
    keep = labels >= 0
    vectors, labels = vectors.detach().cpu()[keep], labels[keep]
    if vectors.shape[0] > max_vectors:
        raise ValueError(
            f"{vectors.shape[0]} vectors exceed max_vectors={max_vectors} (pair distances need "
            f"n^2 memory); pass fewer vectors or raise max_vectors."
        )
    for metric in metrics:
        if metric not in ("euclidean", "cosine"):
            raise ValueError(
                f"metrics for real vectors are 'euclidean' and 'cosine', not {metric!r}."
            )
    if isinstance(threshold, str):
        binarize(vectors[:1], threshold)  # validates the name
        threshold = vectors.median(0).values
    codes = binarize(vectors, threshold)
    runs = [(f"real/{m}", pairwise_distances(vectors, m)) for m in metrics]
    runs.append(("binary/hamming", pairwise_distances(codes, "hamming")))
    acc, thr, top1 = [], [], []
    n_same = n_diff = 0
    for _, dist in runs:
        a, t, n_same, n_diff = verification_accuracy(dist, labels)
        acc.append(a)
        thr.append(t)
        top1.append(retrieval_accuracy(dist, labels))
    return CodeComparison(
        methods=tuple(name for name, _ in runs),
        verification_accuracy=torch.tensor(acc, dtype=torch.float64),
        verification_threshold=torch.tensor(thr, dtype=torch.float64),
        retrieval_top1=torch.tensor(top1, dtype=torch.float64),
        num_vectors=int(vectors.shape[0]),
        num_same_pairs=n_same,
        num_different_pairs=n_diff,
        code_threshold=threshold if isinstance(threshold, Tensor) else float(threshold),
        mean_active_bits=float(codes.to(torch.float64).mean()),
    )
