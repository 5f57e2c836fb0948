"""Invariance curves of the bundled EfficientNet-Lite0 on real photos (Z&F Fig. 5)."""

from __future__ import annotations

import pytest
import torch

from interpret.data import EFFICIENTNET_LITE0, SamplePhotos, imagenet_labels
from interpret.invariance import invariance_curves, vertical_translation

try:
    from interpret.models import efficientnet_lite0
except ImportError:  # the package's __init__ is not there yet
    from interpret.models.efficientnet import efficientnet_lite0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result():
    names = ["chelsea", "coffee", "china"]
    data = SamplePhotos(EFFICIENTNET_LITE0, names=names)
    images = torch.stack([data[i][0] for i in range(len(data))])
    shifts = vertical_translation([-60, -10, 0, 10, 60])
    return invariance_curves(
        efficientnet_lite0(), images, shifts, ["bn1", "global_pool"], image_names=names
    )


def test_identity_and_labels(result):
    labels = [imagenet_labels()[i] for i in result.labels]
    assert labels[0] in ("tiger cat", "tabby", "Egyptian cat") and labels[1] == "espresso"
    curves = result.curves[0]
    zero = curves.params.tolist().index(0.0)
    for site in result.sites:
        assert torch.equal(curves.distances[site][:, zero], torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(curves.true_prob[:, zero], result.reference_prob)


def test_first_layer_jumps_while_the_top_layer_changes_gradually(result):
    """Z&F Sec. 4.4: small transformations change the first layer a lot, the top feature
    layer less, and the top layer's change grows roughly linearly with the shift."""
    curves = result.curves[0]
    params = curves.params.tolist()
    small = [params.index(-10.0), params.index(10.0)]
    large = [params.index(-60.0), params.index(60.0)]
    low = result.distance(0, "bn1", "reference")
    top = result.distance(0, "global_pool", "reference")
    assert float(low[:, small].mean()) > float(top[:, small].mean())
    assert float(low[:, large].mean()) < 1.5 * float(low[:, small].mean())  # saturated
    assert float(top[:, large].mean()) > 1.3 * float(top[:, small].mean())  # still growing
