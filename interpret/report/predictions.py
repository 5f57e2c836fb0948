"""What the model predicts for every image of a scan: the report's pick of informative images.

:class:`Predictions` is a streaming analyzer (no hook: it reads the model output of each
batch). Its result holds, per image, the label, the predicted class and the softmax
probabilities of both, so that sections can choose "one image per class the model gets
right with confidence, and one it gets wrong" without a second pass over the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from torch import Tensor

from interpret.core import Batch, Result
from interpret.core.frames import column, make_frame, name_column
from interpret.core.naming import renamed

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Predictions", "PredictionsResult", "informative_images"]


@dataclass(frozen=True)
class PredictionsResult(Result):
    """Per-image predictions of one scan, in dataset order.

    Attributes
    ----------
    image_index:
        ``(N,)`` int64 dataset positions (``index``: deprecated alias, for one release).
    labels:
        ``(N,)`` int64 data labels (``-1``: unlabelled).
    targets:
        ``(N,)`` int64 the model output that stands for the label (``-1``: none; the
        data's classes are not outputs of the model).
    predicted:
        ``(N,)`` int64 the most probable output.
    confidence:
        ``(N,)`` float64 softmax probability of ``predicted``.
    target_prob:
        ``(N,)`` float64 softmax probability of ``targets`` (NaN where there is none).
    """

    image_index: Tensor
    labels: Tensor
    targets: Tensor
    predicted: Tensor
    confidence: Tensor
    target_prob: Tensor

    renamed_fields: ClassVar[dict[str, str]] = {"index": "image_index"}
    index = renamed("index", "image_index")

    def to_frame(
        self, image_names: Sequence[str] | None = None, class_names: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One row per image: ``image_index`` (``image_name``), ``label`` (``label_name``
        from ``class_names``, the data's classes), ``target``, ``predicted``,
        ``confidence``, ``target_prob`` and ``correct``."""
        labels = column(self.labels).astype(np.int64)
        ids = column(self.image_index).astype(np.int64)
        columns = {
            "image_index": ids,
            "image_name": name_column(ids, image_names),
            "label": labels,
            "label_name": name_column(labels, class_names),
            "target": column(self.targets),
            "predicted": column(self.predicted),
            "confidence": column(self.confidence),
            "target_prob": column(self.target_prob),
            "correct": column(self.correct),
        }
        return make_frame(columns, len(labels))

    @property
    def correct(self) -> Tensor:
        """``(N,)`` bool: the prediction is the label's output."""
        return (self.targets >= 0) & (self.predicted == self.targets)


class Predictions:
    """Collect the model's top class and probabilities per image (outputs ``(N, K)``).

    Parameters
    ----------
    label_outputs:
        For data label ``i``, the model output ``label_outputs[i]`` that stands for it;
        ``None`` when the data's classes are not outputs of the model.
    """

    sites: tuple[str, ...] = ()

    def __init__(self, label_outputs: Sequence[int] | None = None) -> None:
        self.label_outputs = None if label_outputs is None else torch.tensor(list(label_outputs))
        # Rows are written into two buffers that double when full: per-batch tensors kept
        # alive between the scan's large activations fragment the C heap (measured: peak
        # RSS 885 -> 1575 MiB from 1k to 10k images with a list of per-batch tensors).
        self._ints = torch.empty(0, 4, dtype=torch.int64)  # index, label, target, predicted
        self._floats = torch.empty(0, 2, dtype=torch.float64)  # confidence, target prob
        self._rows = 0

    def update(self, activations: Mapping[str, Tensor], batch: Batch) -> None:
        logits = batch.outputs
        if not isinstance(logits, Tensor) or logits.ndim != 2:
            shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
            raise ValueError(
                f"Predictions need class scores (N, K) from the model, got {shape}; "
                "sections that need classes cannot run on this model."
            )
        n = len(logits)
        labels = batch.labels if batch.labels is not None else torch.full((n,), -1)
        labels = labels.to(logits.device)
        probs = logits.double().softmax(-1)
        confidence, predicted = probs.max(-1)
        targets = torch.full_like(labels, -1)
        if self.label_outputs is not None:
            table = self.label_outputs.to(logits.device)
            known = (labels >= 0) & (labels < len(table))
            targets[known] = table[labels[known]]
        target_prob = probs.gather(1, targets.clamp(min=0)[:, None])[:, 0]
        target_prob = torch.where(targets >= 0, target_prob, torch.nan)
        ints = torch.stack([batch.index.to(logits.device), labels, targets, predicted], 1)
        self._append(ints, torch.stack([confidence, target_prob], 1))

    def _append(self, ints: Tensor, floats: Tensor) -> None:
        end = self._rows + len(ints)
        if end > len(self._ints):
            capacity = max(1024, 2 * len(self._ints), end)
            grown = torch.empty(capacity, 4, dtype=torch.int64, device=ints.device)
            grown[: self._rows] = self._ints[: self._rows]
            self._ints = grown
            grown = torch.empty(capacity, 2, dtype=torch.float64, device=floats.device)
            grown[: self._rows] = self._floats[: self._rows]
            self._floats = grown
        self._ints[self._rows : end] = ints
        self._floats[self._rows : end] = floats
        self._rows = end

    def merge(self, other: Predictions) -> None:
        self._append(other._ints[: other._rows], other._floats[: other._rows])

    def result(self) -> PredictionsResult:
        ints, floats = self._ints[: self._rows].cpu(), self._floats[: self._rows].cpu()
        order = ints[:, 0].argsort()
        ints, floats = ints[order], floats[order]
        index, labels, targets, predicted = ints.unbind(1)
        confidence, target_prob = floats.unbind(1)
        return PredictionsResult(
            index.clone(),
            labels.clone(),
            targets.clone(),
            predicted.clone(),
            confidence.clone(),
            target_prob.clone(),
        )


def informative_images(
    predictions: PredictionsResult, classes: int, max_images: int
) -> list[tuple[int, int, str]]:
    """``(dataset index, target output, why)`` for occlusion and other per-image figures.

    Per class (in class order, until ``max_images`` pairs): the image the model gets
    right with the highest confidence, targeting its label; and, when there is one, the
    image it gets wrong with the highest confidence, targeting its label and then its
    prediction. With labels that are not outputs of the model: the most confidently
    predicted image of each class, targeting the prediction. Without labels: the most
    confident image of each of the three most confidently predicted classes.
    """
    p = predictions
    chosen: list[tuple[int, int, str]] = []
    mapped = bool((p.targets >= 0).any())
    if classes == 0 or not bool((p.labels >= 0).any()):
        # Unlabelled: the most confident image of each of the (up to 3) most confidently
        # predicted classes.
        for row in p.confidence.argsort(descending=True).tolist():
            if int(p.predicted[row]) not in {t for _, t, _ in chosen}:
                chosen.append((int(p.image_index[row]), int(p.predicted[row]), "most confident"))
            if len(chosen) == min(3, max_images):
                break
        return chosen
    for c in range(classes):
        rows = (p.labels == c).nonzero().flatten()
        if len(rows) == 0:
            continue
        if not mapped:
            best = rows[p.confidence[rows].argmax()]
            chosen.append((int(p.image_index[best]), int(p.predicted[best]), "most confident"))
            continue
        right = rows[p.correct[rows]]
        wrong = rows[~p.correct[rows]]
        if len(right):
            best = right[p.confidence[right].argmax()]
            chosen.append((int(p.image_index[best]), int(p.targets[best]), "right"))
        if len(wrong):
            worst = wrong[p.confidence[wrong].argmax()]
            index = int(p.image_index[worst])
            chosen.append((index, int(p.targets[worst]), "wrong: true class"))
            chosen.append((index, int(p.predicted[worst]), "wrong: predicted class"))
    return chosen[:max_images]
