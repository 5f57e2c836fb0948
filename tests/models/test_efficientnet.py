import pytest
import skimage.data
import timm
import torch

from interpret.data import EFFICIENTNET_LITE0, imagenet_labels
from interpret.models import efficientnet_lite0, load_bundled, map_state_dict, model_info
from interpret.models.efficientnet import TIMM_ARCHITECTURE, load_bundled_state_dict


@pytest.fixture(scope="module")
def model():
    return efficientnet_lite0(pretrained=True)


@pytest.fixture(scope="module")
def source():
    return load_bundled_state_dict()


@pytest.fixture(scope="module")
def target():
    with torch.device("meta"):
        return timm.create_model(TIMM_ARCHITECTURE, pretrained=False).state_dict()


def test_chelsea_and_coffee_are_classified_right(model, one_thread):
    batch = torch.stack(
        [EFFICIENTNET_LITE0(skimage.data.chelsea()), EFFICIENTNET_LITE0(skimage.data.coffee())]
    )
    with torch.inference_mode():
        logits = model(batch)
    labels = imagenet_labels()
    chelsea_top3 = {labels[i] for i in logits[0].topk(3).indices}
    assert chelsea_top3 == {"tiger cat", "Egyptian cat", "tabby"}
    assert labels[int(logits[1].argmax())] == "espresso"


def test_every_one_of_296_tensors_is_mapped_and_loaded(model, source, target):
    assert len(source) == len(target) == 296
    mapped = map_state_dict(source, target)
    assert list(mapped) == list(target)
    loaded = model.state_dict()
    for (src_key, tensor), dst_key in zip(source.items(), target):
        assert torch.equal(loaded[dst_key], tensor), (src_key, dst_key)
    assert not model.training
    assert all(not p.is_meta for p in model.parameters())


def test_changed_shape_is_refused_naming_the_keys(source, target):
    broken = dict(source)
    broken["_blocks.3._bn1.weight"] = torch.zeros(145)
    with pytest.raises(ValueError, match=r"_blocks\.3\._bn1\.weight.*blocks\.2\.0\.bn2\.weight"):
        map_state_dict(broken, target)


def test_missing_tensor_and_swapped_names_are_refused(source, target):
    fewer = dict(list(source.items())[:-1])
    with pytest.raises(ValueError, match="295 tensors, the model 296"):
        map_state_dict(fewer, target)
    items = list(source.items())
    items[1], items[2] = items[2], items[1]  # _bn0.weight and _bn0.bias: same shape
    with pytest.raises(ValueError, match=r"_bn0\.bias.*bn1\.weight"):
        map_state_dict(dict(items), target)


def test_bundled_info_and_random_init(one_thread):
    info = model_info("efficientnet_lite0")
    assert info.preprocess == EFFICIENTNET_LITE0 and info.input_size == (3, 224, 224)
    assert info.preprocess.mean == (0.5, 0.5, 0.5) and len(info.labels) == 1000
    with pytest.raises(ValueError, match="bundled"):
        load_bundled("resnet18")
    untrained = efficientnet_lite0(pretrained=False)
    assert not untrained.training
    assert untrained(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
