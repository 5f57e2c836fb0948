"""Selectivity on real data: digits with a small net trained here, LFW faces vs non-faces
with the bundled EfficientNet-Lite0. Each writes a readable report and its figures
(to pytest's tmp_path; run with ``-s`` to see the report)."""

from __future__ import annotations

from collections import OrderedDict

import matplotlib
import pytest
import torch
from torch import nn

from interpret.core import hook_count, scan
from interpret.data import Digits, FacesVsNonFaces
from interpret.neurons import LabelRule, Selectivity, compare_codes
from interpret.neurons.selectivity.plot import (
    plot_best_neurons,
    plot_class_means,
    plot_label_map,
    plot_neuron_histograms,
    plot_sparsity,
)

matplotlib.use("Agg")


def write_report(result, path, title: str) -> str:
    import matplotlib.pyplot as plt

    text = f"# {title}\n\n" + result.summary()
    path.mkdir(parents=True, exist_ok=True)
    (path / "report.md").write_text(text)
    best = int(result.per_class.best(0, 1)[0][0])
    for name, fig in (
        ("class_means", plot_class_means(result, 0)),
        ("histograms", plot_neuron_histograms(result, result.per_class.best(0, 4)[0].tolist(), 0)),
        ("label_map", plot_label_map(result)),
        ("sparsity", plot_sparsity(result)),
        ("best", plot_best_neurons(result)),
    ):
        fig.savefig(path / f"{name}.png", dpi=60)
        plt.close(fig)
    assert f"#{best} " in text
    return text


def digits_net(generator: torch.Generator) -> nn.Sequential:
    layers = OrderedDict(
        conv1=nn.Conv2d(1, 16, 3, padding=1),
        relu1=nn.ReLU(),
        pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(16, 32, 3, padding=1),
        relu2=nn.ReLU(),
        pool2=nn.MaxPool2d(2),
        flatten=nn.Flatten(),
        fc1=nn.Linear(32 * 4 * 4, 64),
        relu3=nn.ReLU(),
        fc2=nn.Linear(64, 10),
    )
    net = nn.Sequential(layers)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, generator=generator)
                m.bias.zero_()
    return net


@pytest.fixture(scope="module")
def trained_digits():
    train, test = Digits(size=16, split="train"), Digits(size=16, split="test")
    g = torch.Generator().manual_seed(0)
    net = digits_net(g)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(6):  # ~3 s on one core
        perm = torch.randperm(len(train), generator=g)
        for i in range(0, len(train), 64):
            idx = perm[i : i + 64]
            loss = nn.functional.cross_entropy(net(train.images[idx]), train.targets[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(test.images).argmax(1) == test.targets).double().mean().item()
    assert accuracy > 0.9
    return net, test


@pytest.mark.slow
def test_digits_report(trained_digits, tmp_path) -> None:
    net, test = trained_digits
    before = hook_count(net)
    fc, conv = scan(
        net,
        test,
        [
            Selectivity("relu3", classes=Digits.classes, sample=450),
            Selectivity("relu2", classes=Digits.classes, reduction="max"),
        ],
        progress=False,
    )
    assert hook_count(net) == before
    # the fully connected ReLU layer: selective single neurons for every digit
    for k in range(10):
        neurons, acc = fc.per_class.best(k, 1)
        assert acc.item() > 0.8, (k, acc)
    assert fc.per_class.classifier.balanced_accuracy.nan_to_num(0).amax(1).mean().item() > 0.88
    assert int((fc.per_class.labels.sign == 1).sum()) >= 5  # excitatory units exist
    # moderately sparse: a fraction of the units is active per image, not all, not none
    assert 0.15 < fc.sparsity.mean_active_per_image < 0.85
    # binary codes keep much of the verification accuracy of the real vectors
    table = compare_codes(fc)
    real, binary = table.verification_accuracy[0].item(), table.verification_accuracy[-1].item()
    assert real > 0.85 and binary > 0.65
    text = write_report(fc, tmp_path / "digits_fc", "Digits, fc1 (ReLU), 450 test images")
    text += "\n" + write_report(conv, tmp_path / "digits_conv", "Digits, conv2 (max over space)")
    text += "\n```\n" + table.summary() + "\n```\n"
    print(text)
    assert "| 9 |" in text and "Sparsity:" in text
    assert (tmp_path / "digits_fc" / "label_map.png").stat().st_size > 1000
    # a looser rule labels more pairs, and is what the labels would be with it
    loose = fc.with_rule(LabelRule(0.8, 0.7))
    assert int((loose.per_class.labels.sign != 0).sum()) > int(
        (fc.per_class.labels.sign != 0).sum()
    )


@pytest.mark.slow
def test_faces_vs_nonfaces_report(tmp_path) -> None:
    try:
        from interpret.models import efficientnet_lite0
    except ImportError:  # the models package without its re-exports
        from interpret.models.efficientnet import efficientnet_lite0
    from interpret.data import EFFICIENTNET_LITE0

    model = efficientnet_lite0()
    data = FacesVsNonFaces(preprocess=EFFICIENTNET_LITE0, size=96)
    head, block = scan(
        model,
        data,
        [
            Selectivity("global_pool", classes=FacesVsNonFaces.classes, sample=200),
            Selectivity("blocks.5", classes=FacesVsNonFaces.classes),
        ],
        batch_size=50,
        progress=False,
    )
    assert head.num_neurons == 1280 and head.num_images == 200
    face = head.per_class.group_index("face")
    neurons, acc = head.per_class.best(face, 5)
    assert acc[0].item() >= 0.95  # one ImageNet feature alone tells faces from background
    assert int((head.per_class.labels.sign[face] == 1).sum()) > 0
    assert block.per_class.best(face, 1)[1].item() >= 0.9
    table = compare_codes(head)
    assert table.verification_accuracy.min().item() > 0.7
    text = write_report(
        head, tmp_path / "faces_head", "LFW faces vs non-faces, EfficientNet-Lite0 global pool"
    )
    text += "\n" + write_report(
        block, tmp_path / "faces_block5", "LFW faces vs non-faces, blocks.5"
    )
    print(text + "\n```\n" + table.summary() + "\n```")
