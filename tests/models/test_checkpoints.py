"""load_model on checkpoints: files that name their architecture, wrapped state dicts,
heads of another size, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from interpret.models import checkpoint_architecture, load_model, zfnet_digits


def test_file_that_names_its_architecture_loads_by_path(tmp_path: Path, one_thread) -> None:
    source = torchvision.models.resnet18(num_classes=7)
    path = tmp_path / "run.ckpt"
    torch.save({"arch": "resnet18", "model": source.state_dict(), "num_classes": 7}, path)
    assert checkpoint_architecture(path) == "resnet18"
    model = load_model(str(path))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    assert model.fc.out_features == 7 and torch.equal(model(x), source.eval()(x))


def test_head_size_is_read_from_the_checkpoint(tmp_path: Path, one_thread) -> None:
    source = torchvision.models.resnet18(num_classes=3)
    path = tmp_path / "three.pt"
    torch.save({"model_state_dict": source.state_dict()}, path)
    model = load_model("resnet18", checkpoint=path)
    assert model.fc.out_features == 3
    with pytest.raises(ValueError, match="does not fit"):
        load_model("resnet18", num_classes=5, checkpoint=path)  # an explicit count wins


def test_misfit_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "digits.pt"
    torch.save(zfnet_digits().state_dict(), path)
    with pytest.raises(ValueError) as error:
        load_model("zfnet", pretrained=False, width=0.05, checkpoint=path)
    assert "\n" not in str(error.value) and "size mismatch for features.0.weight" in str(
        error.value
    )
    assert checkpoint_architecture(path) is None
