"""ChannelRelevance: a planted mask channel ranks first; streamed fit == direct fit on all
positions; significance == the literal loss increase; sklearn as referee."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from interpret.core import Batch, hook_count, iterate_batches, run_and_capture, scan
from interpret.neurons.selectivity.relevance import (
    ChannelRelevance,
    ChannelRelevanceResult,
    predict_mask,
)


def square_masks(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    masks = torch.zeros(n, size, size)
    for i in range(n):
        top, left = torch.randint(0, size - 6, (2,), generator=g).tolist()
        masks[i, top : top + 6, left : left + 6] = 1.0
    return masks


class MaskNet(nn.Module):
    """Input channel 0 is the mask (plus noise), 1-2 noise. conv: channel 0 copies input
    channel 0 (the planted mask detector), the rest are random mixtures; pool halves."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 1)
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(6, 3, 1, 1, generator=g) * 0.5)
            self.conv.weight[:, 0] = 0.0
            self.conv.weight[0] = 0.0
            self.conv.weight[0, 0] = 1.0
            self.conv.bias.zero_()
        self.pool = nn.AvgPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(x))


def mask_data(n: int = 24, seed: int = 0):
    masks = square_masks(n, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    images = torch.randn(n, 3, 16, 16, generator=g)
    images[:, 0] = masks + 0.3 * torch.randn(n, 16, 16, generator=g)
    return images, masks


def direct_design(model, images, masks):
    _, acts = run_and_capture(model, images, "pool")
    x = acts["pool"].double()
    small = nn.functional.adaptive_avg_pool2d(masks.double().unsqueeze(1), x.shape[-2:])
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]), small.reshape(-1)


def test_planted_channel_ranks_first_and_matches_direct_fit() -> None:
    images, masks = mask_data()
    model = MaskNet()
    (res,) = scan(
        model, TensorDataset(images), [ChannelRelevance("pool", masks=masks)], progress=False
    )
    assert isinstance(res, ChannelRelevanceResult)
    assert int(res.order[0]) == 0 and res.correlation[0].item() > 0.8 and res.r2 > 0.6
    # direct: standardise every position, ridge in closed form, significance by zeroing
    f, m = direct_design(model, images, masks)
    p = len(m)
    mu, sd = f.mean(0), f.std(0, unbiased=False)
    z, mc = (f - mu) / sd, m - m.mean()
    w = torch.linalg.solve(z.T @ z / p + 1e-3 * torch.eye(6, dtype=torch.float64), z.T @ mc / p)
    torch.testing.assert_close(res.weights, w, rtol=1e-9, atol=1e-12)

    def loss(weights):
        return 0.5 * ((mc - z @ weights) ** 2).mean()

    for c in range(6):
        dropped = w.clone()
        dropped[c] = 0.0
        assert res.significance[c].item() == pytest.approx(
            (loss(dropped) - loss(w)).item(), rel=1e-8
        )
    corr = [np.corrcoef(f[:, c].numpy(), m.numpy())[0, 1] for c in range(6)]
    torch.testing.assert_close(res.correlation, torch.tensor(corr, dtype=torch.float64))
    assert res.r2 == pytest.approx(1 - 2 * loss(w).item() / mc.var(unbiased=False).item())
    assert res.num_positions == p and res.num_images == 24
    # predicted mask from the fitted coefficients == the fit on the training positions
    pred = predict_mask(res, run_and_capture(model, images, "pool")[1]["pool"])
    torch.testing.assert_close(pred.reshape(-1), m.mean() + z @ w)
    only0 = predict_mask(res, run_and_capture(model, images, "pool")[1]["pool"], channels=[0])
    torch.testing.assert_close(only0.reshape(-1), m.mean() + z[:, 0] * w[0])


def test_sklearn_ridge_and_elastic_net_agree() -> None:
    from sklearn.linear_model import ElasticNet, Ridge

    images, masks = mask_data(16)
    model = MaskNet()
    f, m = direct_design(model, images, masks)
    z = ((f - f.mean(0)) / f.std(0, unbiased=False)).numpy()
    p = len(m)
    for l2, l1 in ((0.05, 0.0), (0.01, 0.02), (0.0, 0.01)):
        (res,) = scan(
            model,
            TensorDataset(images),
            [ChannelRelevance("pool", masks=masks, l2=l2, l1=l1)],
            progress=False,
        )
        if l1 == 0:
            ref = Ridge(alpha=l2 * p).fit(z, m.numpy()).coef_
        else:  # sklearn: 1/(2p)|y - Xw|^2 + a*r*|w|_1 + a*(1-r)/2*|w|^2
            alpha = l1 + l2
            ref = (
                ElasticNet(alpha=alpha, l1_ratio=l1 / alpha, tol=1e-12, max_iter=100000)
                .fit(z, m.numpy())
                .coef_
            )
        np.testing.assert_allclose(res.weights.numpy(), ref, rtol=1e-6, atol=1e-9)
    assert (res.weights == 0).any()  # the lasso made it sparse


def test_merge_is_exact_and_masks_come_from_dict_items() -> None:
    images, masks = mask_data(30)
    model = MaskNet()

    class Items(Dataset):
        def __len__(self):
            return 30

        def __getitem__(self, i):
            return {"image": images[i], "mask": masks[i]}

    (whole,) = scan(model, Items(), [ChannelRelevance("pool")], batch_size=8, progress=False)
    parts = []
    for shard in (list(range(0, 30, 2)), list(range(1, 30, 2))):
        rel = ChannelRelevance("pool", masks=masks)
        for index, inputs, _, _ in iterate_batches(TensorDataset(images), 7, indices=shard):
            out, acts = run_and_capture(model, inputs, "pool")
            rel.update(acts, Batch(inputs, index, None, out))
        parts.append(pickle.loads(pickle.dumps(rel)))
    parts[0].merge(parts[1])
    merged = parts[0].result()
    assert torch.equal(merged.order, whole.order)
    # the shards run the model on other batch compositions: float32 activations differ in
    # the last bits with the thread count, so the comparison allows float32 rounding
    torch.testing.assert_close(merged.significance, whole.significance, rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(merged.weights, whole.weights, rtol=1e-4, atol=1e-8)


def test_errors_hooks_and_state() -> None:
    images, masks = mask_data(8)
    model = MaskNet()
    flat = nn.Sequential(model, nn.Flatten())
    with pytest.raises(ValueError, match="needs feature maps"):
        scan(flat, TensorDataset(images), [ChannelRelevance("1", masks=masks)], progress=False)
    with pytest.raises(ValueError, match="No masks"):
        scan(model, TensorDataset(images), [ChannelRelevance("pool")], progress=False)
    before = hook_count(model)
    model.train()
    with pytest.raises(ValueError, match="masks has 4 entries"):
        scan(
            model,
            TensorDataset(images),
            [ChannelRelevance("pool", masks=masks[:4])],
            progress=False,
        )
    assert hook_count(model) == before and model.training
    with pytest.raises(ValueError, match="constant"):
        scan(
            model,
            TensorDataset(images),
            [ChannelRelevance("pool", masks=torch.ones(8, 16, 16))],
            progress=False,
        )
    with pytest.raises(ValueError, match="l1, l2"):
        ChannelRelevance("pool", l2=0.0)
    with pytest.raises(ValueError, match=r"\(num_images, H, W\)"):
        ChannelRelevance("pool", masks=torch.zeros(3, 4))
    with pytest.raises(ValueError, match="seen no images"):
        ChannelRelevance("pool").result()
