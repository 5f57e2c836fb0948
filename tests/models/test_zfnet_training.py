import time

import pytest
import torch
from torch.utils.data import Subset

from interpret.data import Digits
from interpret.models import (
    TrainingConfig,
    TrainingHistory,
    evaluate_accuracy,
    load_model,
    train_zfnet,
    zfnet_digits,
)


@pytest.mark.slow
def test_digits_reach_90_percent_in_three_epochs(tmp_path, one_thread):
    train, test = Digits(size=32, split="train"), Digits(size=32, split="test")
    model = zfnet_digits()
    start = time.perf_counter()
    history = train_zfnet(model, train, epochs=3, eval_dataset=test, checkpoint_dir=tmp_path)
    assert time.perf_counter() - start < 60
    assert history.eval_accuracy[-1] > 0.9
    assert history.loss[-1] < history.loss[0]
    assert history.clipped[0] > 0  # feature scale clipping did act
    assert [p.rsplit("/", 1)[-1] for p in history.checkpoints] == [
        "epoch_001.pt",
        "epoch_002.pt",
        "epoch_003.pt",
    ]
    reloaded = load_model("zfnet_digits", pretrained=False, checkpoint=history.checkpoints[-1])
    assert evaluate_accuracy(reloaded, test) == pytest.approx(history.eval_accuracy[-1])
    assert not model.training


def test_seeded_training_is_deterministic_and_leaves_global_rng(tmp_path, one_thread):
    data = Subset(Digits(size=32, split="train"), range(96))
    rng_state = torch.random.get_rng_state()
    runs = []
    for _ in range(2):
        model = zfnet_digits()
        history = train_zfnet(
            model, data, epochs=1, batch_size=32, generator=torch.Generator().manual_seed(7)
        )
        runs.append((model.state_dict(), history))
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    (a, ha), (b, hb) = runs
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert ha.loss == hb.loss and ha.clipped == hb.clipped
    other = zfnet_digits()
    train_zfnet(other, data, epochs=1, batch_size=32, generator=torch.Generator().manual_seed(8))
    assert not torch.equal(other.features[0].weight, a["features.0.weight"])
    path = ha.save(tmp_path / "history.pt")
    loaded = TrainingHistory.load(path)
    assert loaded == ha and loaded.config.batch_size == 32


def test_mode_is_restored_and_settings_checked(one_thread):
    data = Subset(Digits(size=32, split="test"), range(16))
    model = zfnet_digits().train()
    train_zfnet(model, data, epochs=1, optimizer="sgd", lr=0.01, schedule="constant")
    assert model.training
    with pytest.raises(TypeError, match="learning_rate"):
        train_zfnet(model, data, learning_rate=0.1)
    with pytest.raises(ValueError, match="optimizer"):
        TrainingConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="epochs"):
        TrainingConfig(epochs=0)
    with pytest.raises(ValueError, match="empty"):
        train_zfnet(model, Subset(data, []), epochs=1)
