"""Linear probes: accuracy rises through a trained CNN; planted signal; bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interpret.data import Digits
from interpret.probes import ProbeFeatures, ProbeResult, fit_probes, layer_probes, plot_probes
from interpret.testing import chain_cnn

SITES = ["features.1", "features.4", "features.7", "classifier.1"]


@pytest.fixture(scope="module")
def digits():
    return Digits(size=16, split="all")


@pytest.fixture(scope="module")
def trained(digits):
    """A small chain CNN trained on the digits for 4 epochs (about 3 s on one core)."""
    net = chain_cnn(channels=(1, 8, 16, 32), num_classes=10)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, generator=gen)
                nn.init.zeros_(m.bias)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = digits.images, digits.targets
    for _ in range(4):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def test_accuracy_rises_from_first_to_last_layer(trained, digits):
    res = layer_probes(trained, digits, SITES, pool="avg", folds=5, seed=0)
    acc = res.accuracy_mean
    assert res.sites == tuple(SITES)
    assert bool((acc[1:] > acc[:-1]).all()), res.markdown()
    assert float(acc[-1]) > 0.9 and float(acc[0]) < float(acc[-1]) - 0.1
    assert res.n_images == len(digits) and res.n_classes == 10
    assert res.chance == pytest.approx(torch.bincount(digits.targets).max().item() / len(digits))
    assert res.feature_dims == {"features.1": 8, "features.4": 16, "features.7": 32,
                                "classifier.1": 32}  # fmt: skip
    assert res.fold_accuracy.shape == (4, 5) and bool((res.accuracy_std > 0).all())
    torch.testing.assert_close(res.accuracy_mean, res.fold_accuracy.mean(1))
    # a random (untrained) network of the same shape does much worse at the last layer
    rand = layer_probes(chain_cnn(channels=(1, 8, 16, 32), num_classes=10), digits,
                        ["classifier.1"], folds=5)  # fmt: skip
    assert float(rand.accuracy_mean[0]) < float(acc[-1]) - 0.05


def _planted(n=60, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    signal = torch.nn.functional.one_hot(y, 3).float() * 4 + torch.randn(n, 3, generator=gen)
    return ProbeFeatures(
        features={"signal": signal, "noise": torch.randn(n, 5, generator=gen)},
        labels=y,
        image_index=torch.arange(n),
        pool="avg",
        images_seen=n,
        max_images=None,
        seed=0,
    )


@pytest.mark.parametrize("classifier", ["logistic", "linear_svm"])
def test_planted_signal_and_noise(classifier):
    res = fit_probes(_planted(), classifier=classifier, folds=4)
    assert float(res.accuracy_mean[0]) > 0.95
    assert float(res.accuracy_mean[1]) < 0.6  # chance is 1/3
    assert res.chance == pytest.approx(1 / 3)
    assert torch.equal(res.chosen_C, torch.ones(2, 4, dtype=torch.float64))


def test_sites_order_grid_search_and_table():
    res = fit_probes(_planted(), sites=["noise", "signal"], C=[0.01, 1.0, 100.0], folds=3)
    assert res.sites == ("noise", "signal") and res.C == (0.01, 1.0, 100.0)
    assert set(res.chosen_C.flatten().tolist()) <= {0.01, 1.0, 100.0}
    rows = res.rows()
    assert [r["site"] for r in rows] == ["noise", "signal"]
    assert rows[1]["accuracy_%"] == pytest.approx(100 * float(res.accuracy_mean[1]))
    table = res.markdown()
    assert "| signal | 3 |" in table and "± " in table and "Chance" in table


def test_convergence_warnings_are_recorded():
    res = fit_probes(_planted(), folds=3, max_iter=1)
    assert res.warnings and all(w.startswith(("signal:", "noise:")) for w in res.warnings)


def test_round_trip_and_plot(tmp_path):
    import matplotlib.pyplot as plt

    res = fit_probes(_planted(), folds=3)
    loaded = ProbeResult.load(res.save(tmp_path / "p.pt"))
    assert torch.equal(loaded.fold_accuracy, res.fold_accuracy) and loaded.sites == res.sites
    fig = plot_probes(res)
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == pytest.approx((100 * res.accuracy_mean).tolist())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["signal", "noise"]
    chance = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert chance and chance[0].get_ydata()[0] == pytest.approx(100 / 3)
    plt.close(fig)
    fig, ax = plt.subplots()
    assert plot_probes(res, ax=ax, show_train=False) is fig
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"folds": 30}, "fewer than folds"),
        ({"folds": 1}, "folds must be"),
        ({"classifier": "mlp"}, "classifier must be"),
        ({"sites": ["conv9"]}, "No features"),
        ({"sites": []}, "sites is empty"),
        ({"C": 0.0}, "C must be"),
        ({"C": []}, "C must be"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_probes(_planted(), **kwargs)


def test_single_class_and_wrong_type():
    feats = _planted()
    one = ProbeFeatures(feats.features, torch.zeros(60, dtype=torch.long), feats.image_index, "avg",
                        60, None, 0)  # fmt: skip
    with pytest.raises(ValueError, match="two classes"):
        fit_probes(one)
    with pytest.raises(TypeError, match="ProbeFeatures"):
        fit_probes({"a": torch.zeros(3, 2)})
