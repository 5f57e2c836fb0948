"""``image_specificity``: the literal definition, and what it shows on the bundled models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interpret.deconvnet import image_specificity, specificity_matrix


def _literal(projections, crops, inside, filled):
    """Loops over units and slots: cosine of projection i with the centred crop j."""
    n, k = filled.shape
    out = []
    for u in range(n):
        gaps = []
        for i in range(k):
            if not filled[u, i]:
                continue
            p = projections[u, i].numpy().ravel()
            r = {}
            for j in range(k):
                if not filled[u, j]:
                    continue
                crop = crops[u, j].numpy().copy()  # (C, h, w)
                keep = inside[u, j].numpy()
                for c in range(crop.shape[0]):
                    crop[c] -= crop[c][keep].mean() if keep.any() else 0.0
                    crop[c][~keep] = 0.0
                x = crop.ravel()
                denom = np.linalg.norm(p) * np.linalg.norm(x)
                r[j] = float(p @ x / denom) if denom > 0 else 0.0
            others = [r[j] for j in r if j != i]
            if others:
                gaps.append(r[i] - np.mean(others))
        out.append(np.mean(gaps) if gaps else np.nan)
    return np.array(out)


def test_equals_the_literal_definition(generator):
    n, k = 3, 5
    crops = torch.randn(n, k, 3, 7, 8, generator=generator, dtype=torch.double)
    noise = torch.randn(n, k, 3, 7, 8, generator=generator, dtype=torch.double)
    projections = 0.5 * crops + noise  # partly about their own crop
    projections[0, 2] = 0.0  # an all-zero projection agrees with nothing
    inside = torch.rand(n, k, 7, 8, generator=generator) > 0.2
    filled = torch.tensor([[1, 1, 1, 1, 1], [1, 0, 1, 1, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    ours = image_specificity(projections, crops, inside, filled)
    theirs = _literal(projections, crops, inside, filled)
    assert np.isnan(float(ours[2])) and np.isnan(theirs[2])  # one filled slot: undefined
    np.testing.assert_allclose(ours[:2].numpy(), theirs[:2], rtol=1e-10, atol=1e-12)
    assert float(ours[0]) > 0.2
    matrix = specificity_matrix(projections, crops, inside)
    assert matrix.shape == (n, k, k) and float(matrix[0, 2].abs().max()) == 0.0


def test_scale_free_and_zero_for_one_picture(generator):
    crops = torch.randn(2, 9, 3, 12, 12, generator=generator, dtype=torch.double)
    scaled = crops * torch.rand(2, 9, 1, 1, 1, generator=generator, dtype=torch.double) * 100
    torch.testing.assert_close(image_specificity(scaled, crops), image_specificity(crops, crops))
    one_picture = crops[:, :1].expand_as(crops)
    assert float(image_specificity(one_picture, crops).abs().max()) < 0.2
    with pytest.raises(ValueError, match="one shape"):
        image_specificity(crops[:, :, :1], crops)


@pytest.mark.slow
def test_guided_is_image_specific_on_lite0_and_the_deconvnet_is_not():
    """EfficientNet-Lite0 (no max pooling) over the sample photos: the deconvnet's top-9
    are one picture per unit (specificity ~0), guided backpropagation's are not."""
    from interpret import scan
    from interpret.data.preprocess import EFFICIENTNET_LITE0
    from interpret.data.samples import SampleViews
    from interpret.deconvnet import TopActivations, project_top
    from interpret.models import efficientnet_lite0

    model = efficientnet_lite0(pretrained=True).eval()
    data = SampleViews(EFFICIENTNET_LITE0)
    (top,) = scan(model, data, [TopActivations("blocks.2", k=9)], progress=False)
    alive = (top.values[:, 0] > 0).nonzero().flatten()
    channels = alive[torch.randperm(len(alive), generator=torch.Generator().manual_seed(0))[:4]]
    score = {}
    for rule in ("deconvnet", "guided"):
        result = project_top(model, data, top, channels=channels.tolist(), rule=rule)
        assert result.rule == rule and result.specificity.shape == (4,)
        score[rule] = result.specificity
    # measured: deconvnet about 0.00 per channel, guided about 0.05-0.08
    assert float(score["deconvnet"].abs().max()) < 0.02
    assert float(score["guided"].min()) > 0.03
    assert float(score["guided"].mean()) > 5 * float(score["deconvnet"].abs().mean())


@pytest.mark.slow
def test_the_deconvnet_with_switches_is_image_specific_on_zfnet_digits():
    from interpret import scan
    from interpret.data import Digits
    from interpret.deconvnet import TopActivations, project_top
    from interpret.models.cached import trained_zfnet_digits

    net, _ = trained_zfnet_digits(None)
    data = Digits(split="test")
    tops = scan(net.features, data, [TopActivations(s, k=9) for s in ("5", "13")], progress=False)
    for top in tops:
        channels = (top.values[:, 0] > 0).nonzero().flatten()[:6].tolist()
        result = project_top(net.features, data, top, channels=channels, route="reverse")
        assert result.route == "reverse" and result.rule == "deconvnet"
        # measured: means 0.09 (features.5) and 0.12 (features.13)
        assert float(result.specificity.nanmean()) > 0.04, top.site
