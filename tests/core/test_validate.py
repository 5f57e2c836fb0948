"""The validation layer: wrong kinds are TypeError, wrong values ValueError, each saying
what to do; the model is left as it was."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from interpret import capture, scan
from interpret.core import ActivationStats
from interpret.core.state import hook_count
from interpret.core.validate import check_index, check_indices, check_labels
from interpret.testing import chain_cnn


def _data(n: int = 6, labels=None) -> TensorDataset:
    images = torch.randn(n, 3, 21, 17, generator=torch.Generator().manual_seed(0))
    return TensorDataset(images) if labels is None else TensorDataset(images, labels)


def _scan(model, data=None, analyzers=None, **kw):
    analyzers = [ActivationStats(["features.2"])] if analyzers is None else analyzers
    return scan(model, _data() if data is None else data, analyzers, progress=False, **kw)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)

    def forward(self, x):
        return self.conv(x)


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        (Net, TypeError, r"the class Net, not a model; instantiate it first: model = Net\(...\)"),
        (3, TypeError, "must be a torch.nn.Module instance, got int"),
        (None, TypeError, "must be a torch.nn.Module instance, got NoneType"),
    ],
)
def test_model_must_be_a_module_instance(model, error, message):
    with pytest.raises(error, match=message):
        _scan(model)
    with pytest.raises(error, match=message), capture(model, "conv"):
        pass


def test_meta_model_bogus_device_and_analyzers_are_refused():
    with torch.device("meta"):
        meta = chain_cnn()
    with pytest.raises(ValueError, match="'meta' device"):
        _scan(meta)
    model = chain_cnn()
    with pytest.raises(ValueError, match="device='bogus' is not a device"):
        _scan(model, device="bogus")
    with pytest.raises(TypeError, match="device must be a string"):
        _scan(model, device=3.5)
    with pytest.raises(TypeError, match=r"analyzers\[1\] is a int, not an analyzer"):
        _scan(model, analyzers=[ActivationStats(["features.2"]), 5])
    with pytest.raises(TypeError, match=r"is the class ActivationStats; build one"):
        _scan(model, analyzers=[ActivationStats])
    with pytest.raises(TypeError, match="batch_size must be an int"):
        _scan(model, batch_size=2.5)
    assert hook_count(model) == 0


def test_float_labels_with_fractions_and_labels_not_1d_are_refused():
    model = chain_cnn()
    with pytest.raises(ValueError, match=r"whole numbers.*0.6"):
        _scan(model, _data(labels=torch.tensor([0.6, 1.6, 0.0, 1.0, 2.0, 2.0])))
    with pytest.raises(ValueError, match=r"one integer per image.*got shape \(2, 3\)"):
        _scan(model, _data(labels=torch.zeros(6, 3, dtype=torch.long)), batch_size=2)
    (ok,) = _scan(model, _data(labels=torch.tensor([0.0, 1.0, 2.0, 0.0, 1.0, 2.0])))
    assert ok.sites["features.2"].count == 6
    assert check_labels(torch.tensor([1.0, 2.0])).dtype == torch.int64
    with pytest.raises(TypeError, match="integers"):
        check_labels(torch.tensor([1j]))


class TwoSizes(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        return torch.zeros(3, 21, 17 + i % 2)


def test_images_of_two_sizes_in_a_batch_are_a_clear_error():
    with pytest.raises(ValueError, match="differ in size.*batch_size=1"):
        _scan(chain_cnn(), TwoSizes(), batch_size=4)


def test_errors_of_the_model_after_the_first_step_pass_through():
    class Breaks(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = chain_cnn().features
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("the model's own error")
            return self.features(x)

    with pytest.raises(RuntimeError, match="^the model's own error$"):
        _scan(Breaks(), batch_size=2)


def test_unit_indices_are_integers():
    assert check_index(torch.tensor(3), "target") == 3
    assert check_indices([1, 2], "channels", 4) == [1, 2]
    with pytest.raises(TypeError, match="integer index, got 1.7"):
        check_indices([1.7], "channels")
    with pytest.raises(ValueError, match="out of range"):
        check_index(4, "channel", 4)
    with pytest.raises(TypeError, match="integer index"):
        check_index(True, "channel")
