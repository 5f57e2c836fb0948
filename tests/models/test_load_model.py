import socket

import pytest
import torch
from torch import nn

from interpret.models import (
    WeightsUnavailableError,
    load_model,
    model_info,
    zfnet_digits,
)


def test_torchvision_name_without_weights():
    model = load_model("resnet18", pretrained=False, num_classes=10)
    assert type(model).__module__.startswith("torchvision")
    assert model.fc.out_features == 10 and not model.training


def test_timm_prefixed_and_plain_names():
    prefixed = load_model("timm:resnet18", pretrained=False, num_classes=5)
    assert type(prefixed).__module__.startswith("timm") and prefixed.fc.out_features == 5
    plain = load_model("resnet10t", pretrained=False)  # a name only timm knows
    assert type(plain).__module__.startswith("timm") and not plain.training


def test_module_factory_path():
    model = load_model("interpret.models.zfnet:zfnet", num_classes=4, width=0.05, input_size=64)
    assert model.classifier[-1].out_features == 4
    with pytest.raises(TypeError, match="not an nn.Module"):
        load_model("builtins:dict")
    with pytest.raises(ValueError, match="no attribute"):
        load_model("interpret.models.zfnet:nothing_here")
    with pytest.raises(ValueError, match="Cannot import"):
        load_model("no_such_package.models:build")


def test_checkpoint_round_trip(tmp_path):
    original = zfnet_digits(generator=torch.Generator().manual_seed(5))
    path = tmp_path / "digits.pt"
    torch.save(original.state_dict(), path)
    loaded = load_model("zfnet_digits", pretrained=False, checkpoint=path)
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded(x), original(x))
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"state_dict": original.state_dict(), "epoch": 3}, wrapped)
    assert torch.equal(load_model("zfnet_digits", checkpoint=wrapped)(x), original(x))


def test_checkpoint_errors(tmp_path):
    path = tmp_path / "digits.pt"
    torch.save(zfnet_digits().state_dict(), path)
    with pytest.raises(ValueError, match="checkpoint="):
        load_model(str(path))
    with pytest.raises(ValueError, match="does not fit"):
        load_model("zfnet", pretrained=False, width=0.05, checkpoint=path)
    pickled = tmp_path / "module.pt"
    torch.save(nn.Linear(2, 2), pickled)
    with pytest.raises(ValueError, match="state_dict"):
        load_model("zfnet_digits", checkpoint=pickled)
    with pytest.raises(ValueError, match="No checkpoint file"):
        load_model("zfnet_digits", checkpoint=tmp_path / "missing.pt")


def test_unknown_name_lists_close_names():
    with pytest.raises(ValueError, match="Closest: resnet18"):
        load_model("resnet181", pretrained=False)
    with pytest.raises(ValueError, match="pretrained=False"):
        load_model("zfnet")


def _online(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def test_failed_download_says_what_to_do(tmp_path, monkeypatch):
    if _online("download.pytorch.org"):
        pytest.skip("the network is reachable here, so the download would not fail")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # never reuse a cached file
    with pytest.raises(WeightsUnavailableError, match="pretrained=False"):
        load_model("squeezenet1_1")


def test_model_info_for_builtin_torchvision_and_timm_names():
    digits = model_info("zfnet_digits")
    assert digits.input_size == (1, 32, 32) and digits.labels[3] == "3"
    resnet = model_info("resnet18")
    assert resnet.preprocess.resize == 256 and resnet.preprocess.size == 224
    assert resnet.labels[281] == "tabby"
    timm_info = model_info("timm:resnet18")
    assert timm_info.preprocess.interpolation == "bicubic" and len(timm_info.labels) == 1000
    with pytest.raises(ValueError, match="Closest"):
        model_info("resnet181")
