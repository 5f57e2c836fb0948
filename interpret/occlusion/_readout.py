"""Occluded copies of the images, and the buffers a sweep fills batch by batch."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["Readout", "feature_total", "occluded"]


class Readout:
    """Buffers for every quantity, on the model's device, filled batch by batch without a
    read back to the host (moved to the CPU once, by :meth:`cpu`)."""

    def __init__(
        self, n: int, p: int, k: int, top_n: int, keep_logits: bool, feature: bool, dtype,
        device: torch.device,
    ) -> None:  # fmt: skip
        long = torch.int64

        def zeros(*shape: int, dtype=dtype) -> Tensor:  # noqa: ANN001
            return torch.zeros(*shape, dtype=dtype, device=device)

        self.target_prob = zeros(n, p)
        self.target_logit = zeros(n, p)
        self.top_label = zeros(n, p, dtype=long)
        self.top_prob = zeros(n, p)
        self.feature = zeros(n, p, dtype=torch.float64) if feature else None
        self.topn_labels = zeros(n, p, top_n, dtype=long) if top_n else None
        self.topn_probs = zeros(n, p, top_n) if top_n else None
        self.logits = zeros(n, p, k) if keep_logits else None

    def add(
        self,
        img: Tensor,
        pos: Tensor,
        logits: Tensor,
        probs: Tensor,
        target: Tensor,
        feature: Tensor | None,
    ) -> None:
        dev = logits.device
        rows = torch.arange(len(img), device=dev)
        tgt = target[img].to(dev, non_blocking=True)
        img, pos = img.to(dev, non_blocking=True), pos.to(dev, non_blocking=True)
        self.target_prob[img, pos] = probs[rows, tgt].to(self.target_prob.dtype)
        self.target_logit[img, pos] = logits[rows, tgt].to(self.target_logit.dtype)
        best, label = probs.max(-1)
        self.top_label[img, pos] = label
        self.top_prob[img, pos] = best.to(self.top_prob.dtype)
        if self.feature is not None and feature is not None:
            self.feature[img, pos] = feature.double()
        if self.topn_labels is not None and self.topn_probs is not None:
            values, labels = probs.topk(self.topn_labels.shape[-1], dim=-1)
            self.topn_labels[img, pos] = labels
            self.topn_probs[img, pos] = values.to(self.topn_probs.dtype)
        if self.logits is not None:
            self.logits[img, pos] = logits.to(self.logits.dtype)

    def cpu(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, Tensor):
                setattr(self, name, value.cpu())


def feature_total(act: Tensor, channel: Tensor) -> Tensor:
    """Sum of ``act[b, channel[b]]`` over every spatial position, ``(B,)``."""
    chosen = act[torch.arange(len(act), device=act.device), channel.to(act.device)]
    return chosen.double().flatten(1).sum(1) if chosen.ndim > 1 else chosen.double()


def occluded(images: Tensor, baseline: Tensor, boxes: Tensor, img: Tensor) -> Tensor:
    """Occluded copies ``(B, C, H, W)``: ``baseline`` inside ``boxes (B, 4)``, image outside."""
    h, w = images.shape[-2:]
    dev = images.device
    b = boxes.to(dev)
    rows = torch.arange(h, device=dev)[None]
    cols = torch.arange(w, device=dev)[None]
    r = (rows >= b[:, :1]) & (rows < b[:, 2:3])
    c = (cols >= b[:, 1:2]) & (cols < b[:, 3:4])
    mask = (r[:, :, None] & c[:, None, :])[:, None]
    idx = img.to(dev)
    return torch.where(mask, baseline[idx], images[idx])
