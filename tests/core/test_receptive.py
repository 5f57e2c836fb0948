import pytest
import torch
from torch import nn

from interpret.core.receptive import chain_layers, receptive_field
from interpret.testing import awkward_zoo, chain_cnn, seeded


def _gradient_support(model: nn.Module, site: str, shape, y: int, x: int):
    """Rows/cols of the input that influence unit (y, x): an independent check.

    All weights are made positive and the ReLUs never see negatives, so every path
    inside the field carries a non-zero gradient.
    """
    model = seeded(model, 0)
    with torch.no_grad():
        for p in model.parameters():
            p.abs_().add_(0.1)
    inp = torch.rand(1, *shape, dtype=torch.float64, requires_grad=True)
    model = model.double()
    out = {}
    handle = dict(model.named_modules())[site].register_forward_hook(
        lambda m, i, o: out.setdefault("v", o)
    )
    try:
        model(inp)
    finally:
        handle.remove()
    out["v"][0, :, y, x].sum().backward()
    rows = inp.grad[0].abs().sum((0, 2)).nonzero().flatten()
    cols = inp.grad[0].abs().sum((0, 1)).nonzero().flatten()
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


@pytest.mark.parametrize(
    "site", ["features.0", "features.2", "features.3", "features.5", "features.8"]
)
def test_boxes_equal_gradient_support(site):
    shape = (3, 47, 61)
    field = receptive_field(chain_cnn(), site)
    with torch.no_grad():
        out_hw = (
            chain_cnn().features[: int(site.split(".")[1]) + 1](torch.zeros(1, *shape)).shape[2:]
        )
    for y, x in [(0, 0), (out_hw[0] - 1, out_hw[1] - 1), (out_hw[0] // 2, 1)]:
        box = field.box(y, x, input_hw=shape[1:])
        # max pooling passes gradient only through the max: use average pooling for support
        model = chain_cnn()
        for i, m in enumerate(model.features):
            if isinstance(m, nn.MaxPool2d):
                model.features[i] = nn.AvgPool2d(m.kernel_size, m.stride)
        assert box == _gradient_support(model, site, shape, y, x), (site, y, x)


def test_known_fields_of_real_architectures():
    import torchvision

    assert receptive_field(torchvision.models.alexnet(), "features.12").size == (195, 195)
    vgg = receptive_field(torchvision.models.vgg16(), "features.30")
    assert vgg.size == (212, 212) and vgg.stride == (32, 32)


def test_non_chains_are_refused():
    with pytest.raises(ValueError, match="Functional op 'relu'"):
        chain_layers(awkward_zoo()["functional_relu"].build(), "conv2")
    with pytest.raises(ValueError, match="tensor inputs"):
        chain_layers(awkward_zoo()["branches"].build(), "merge")
    with pytest.raises(ValueError, match="no known spatial geometry"):
        receptive_field(chain_cnn(), "classifier.2")
    with pytest.raises(ValueError, match="Unknown site"):
        chain_layers(chain_cnn(), "features.42")
