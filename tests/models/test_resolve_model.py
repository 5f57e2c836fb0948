"""resolve_model: names, factories and checkpoints through load_model, plus what a scan needs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from interpret.data import EFFICIENTNET_LITE0, Digits, imagenet_labels
from interpret.models import (
    LoadedModel,
    default_cache_dir,
    model_classes,
    resolve_device,
    resolve_model,
    zfnet_digits,
)
from interpret.models.cached import zfnet_digits_key


@pytest.fixture
def user_models(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


def _x(side: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(seed))


def test_torchvision_name_builds_random_weights_offline(one_thread) -> None:
    loaded = resolve_model("resnet18", image_size=64)
    assert isinstance(loaded.model, torchvision.models.ResNet) and not loaded.model.training
    assert loaded.notes == ("resnet18 has random weights (no weights given).",)
    assert loaded.class_names == imagenet_labels() and loaded.class_names_from == "guess"
    assert loaded.preprocess.size == 64 and loaded.preprocess.resize == 73
    assert loaded.device == torch.device("cpu")
    assert loaded.key == resolve_model("resnet18", image_size=64).key
    assert loaded.key != resolve_model("resnet18", image_size=96).key
    named = loaded.with_class_names([f"c{i}" for i in range(1000)])
    assert named.class_names[:2] == ("c0", "c1") and named.class_names_from == "data"


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(ValueError, match="Unknown model 'resnet1800'. Did you mean resnet18"):
        resolve_model("resnet1800")
    with pytest.raises(TypeError, match="non-empty string"):
        resolve_model("")


def test_factory_with_weights_checkpoint(user_models, tmp_path: Path) -> None:
    import user_models as module

    trained = module.small_cnn(seed=7)
    path = tmp_path / "mine.pt"
    torch.save(trained.state_dict(), path)
    random = resolve_model("user_models:small_cnn", image_size=32)
    loaded = resolve_model("user_models:small_cnn", path, image_size=32)
    assert torch.equal(loaded.model(_x()), trained.eval()(_x()))
    assert not torch.equal(random.model(_x()), loaded.model(_x()))
    assert loaded.key != random.key and loaded.class_names is None and loaded.notes == ()
    assert loaded.preprocess.mean == (0.485, 0.456, 0.406)
    with pytest.raises(FileNotFoundError, match="No checkpoint file"):
        resolve_model("user_models:small_cnn", tmp_path / "missing.pt")
    torch.save(module.small_cnn(num_classes=5).state_dict(), path)
    with pytest.raises(ValueError, match=r"does not fit the Sequential built: .*size mismatch"):
        resolve_model("user_models:small_cnn", path)
    with pytest.raises(TypeError, match="not an nn.Module"):
        resolve_model("user_models:not_a_model")


def test_data_class_names_name_a_fitting_head(user_models) -> None:
    loaded = resolve_model("user_models:small_cnn", image_size=32)
    named = loaded.with_class_names(("cat", "coffee", "rocket"))
    assert named.class_names == ("cat", "coffee", "rocket") and named.class_names_from == "data"
    assert named.notes[-1] == "Output classes named after the data's 3 classes."
    assert named.model is loaded.model and loaded.class_names is None
    assert loaded.with_class_names(("a", "b")) is loaded  # 3 outputs, 2 names
    assert loaded.with_class_names(None) is loaded
    bundled = resolve_model("efficientnet_lite0")
    assert bundled.class_names_from == "weights"
    assert bundled.with_class_names([str(i) for i in range(1000)]) is bundled


def test_checkpoint_that_names_its_architecture(tmp_path: Path, one_thread) -> None:
    source = torchvision.models.resnet18(num_classes=4)
    path = tmp_path / "resnet-4.pt"
    torch.save({"arch": "resnet18", "state_dict": source.state_dict(), "epoch": 9}, path)
    loaded = resolve_model(str(path), image_size=64)
    assert loaded.name == str(path) and model_classes(loaded.model) == 4
    assert torch.equal(loaded.model(_x(64)), source.eval()(_x(64)))
    assert loaded.class_names is None and loaded.notes == ()  # 4 outputs: not ImageNet
    resaved = tmp_path / "resnet-4-again.pt"
    torch.save({"arch": "resnet18", "model_state_dict": source.state_dict()}, resaved)
    assert resolve_model(str(resaved), image_size=64).key != loaded.key
    plain = tmp_path / "plain.pt"
    torch.save(source.state_dict(), plain)
    with pytest.raises(ValueError, match="does not name its architecture; pass --model ARCH"):
        resolve_model(str(plain))
    with pytest.raises(FileNotFoundError, match="No checkpoint file"):
        resolve_model(str(tmp_path / "absent.pt"))


def test_checkpoint_naming_a_user_factory(user_models, tmp_path: Path) -> None:
    import user_models as module

    trained = module.small_cnn(seed=3)
    path = tmp_path / "small.pth"
    torch.save({"arch": "user_models:small_cnn", "state_dict": trained.state_dict()}, path)
    loaded = resolve_model(str(path), image_size=32)
    assert torch.equal(loaded.model(_x()), trained.eval()(_x()))


def test_bundled_models(one_thread, tmp_path: Path) -> None:
    lite = resolve_model("efficientnet_lite0")
    assert lite.preprocess == EFFICIENTNET_LITE0 and lite.default_data == "samples"
    digits = resolve_model("zfnet", trained=False)
    assert digits.default_data == "digits" and digits.class_names == Digits.classes
    assert digits.preprocess.channels == 1 and "random weights" in digits.notes[0]
    mine = zfnet_digits(generator=torch.Generator().manual_seed(2))
    path = tmp_path / "digits.pt"
    torch.save(mine.state_dict(), path)
    loaded = resolve_model("zfnet", path)  # own weights: no training, no cache
    x = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.model(x), mine.eval()(x)) and loaded.notes == ()


def test_trained_zfnet_comes_from_the_user_cache(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INTERPRET_CACHE", str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache"
    cached = zfnet_digits(generator=torch.Generator().manual_seed(4))
    target = tmp_path / "cache" / f"zfnet_digits-{zfnet_digits_key()}.pt"
    target.parent.mkdir()
    torch.save({"state_dict": cached.state_dict(), "test_accuracy": 0.5}, target)
    loaded = resolve_model("zfnet")  # no cache_dir: the user's cache, no training
    assert loaded.notes == ("ZFNet trained on digits, test accuracy 50.0%.",)
    x = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.model(x), cached.eval()(x))
    assert loaded.class_names_from == "weights"


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("INTERPRET_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "interpret"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "interpret"


def test_devices(user_models) -> None:
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    for junk in ("bogus", "gpu", "cuda:x", "meta"):
        with pytest.raises(ValueError, match="Unknown device"):
            resolve_device(junk)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available here"):
            resolve_device("cuda")
    else:
        with pytest.raises(ValueError, match="CUDA device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    loaded = resolve_model("user_models:small_cnn", device="auto")
    assert next(loaded.model.parameters()).device.type == auto.type == loaded.device.type
    with pytest.raises(ValueError, match="Unknown device 'bogus'"):
        resolve_model("user_models:small_cnn", device="bogus")


def test_loaded_model_keeps_its_positional_fields() -> None:
    model = zfnet_digits()
    loaded = LoadedModel(model, "zfnet", Digits().preprocess, Digits.classes, "k", "digits", ["n"])
    assert loaded.default_data == "digits" and list(loaded.notes) == ["n"]
    with pytest.raises(AttributeError):
        loaded.name = "other"  # type: ignore[misc]
