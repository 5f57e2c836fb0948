"""Repeated calls (``name#k``) and globs, resolved once in the core for every analyzer.

Referee: ``interpret.capture`` on torchvision's ResNet-18 (random init, 64 px), whose
block output is the second call of ``layerX.Y.relu`` and also the output of the block
module ``layerX.Y`` itself: two independent hooks on the same tensor.
"""

import re
from dataclasses import fields, is_dataclass

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset
from torchvision.models import resnet18

from interpret import expand_sites, scan
from interpret.core import (
    ActivationStats,
    Site,
    capture,
    expand_keys,
    hook_count,
    resolve_sites,
)
from interpret.deconvnet import TopActivations
from interpret.embeddings import ImageEmbeddings, IncrementalPCA, PatchEmbeddings
from interpret.filters import FilterActivity
from interpret.neurons import ChannelRelevance, Selectivity
from interpret.probes import FeatureCollector

N, SIZE = 6, 64


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return resnet18().eval()


@pytest.fixture(scope="module")
def images():
    return torch.randn(N, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def data(images):
    return TensorDataset(images, torch.arange(N) % 2)


@pytest.fixture(scope="module")
def captured(model, images):
    with capture(model, ["layer1.*", "layer1.0.relu"]) as acts, torch.inference_mode():
        model(images)
    return dict(acts)


def _no_hooks(model: nn.Module) -> bool:
    plain = all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    return plain and hook_count(model) == 0


def _equal(a, b, skip=("site",)) -> bool:
    """Field-by-field equality of two results, ignoring the fields that name the site."""
    if is_dataclass(a):
        return type(a) is type(b) and all(
            _equal(getattr(a, f.name), getattr(b, f.name)) for f in fields(a) if f.name not in skip
        )
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


# -- parsing -------------------------------------------------------------------------------


def test_call_suffix_parses_in_both_spellings_and_prints_canonically():
    assert Site.parse("layer1.0.relu#1") == Site("layer1.0.relu", None, 1)
    assert Site.parse("block:0#2") == Site("block", "0", 2) == Site.parse("block#2:0")
    assert str(Site.parse("block#2:0")) == "block:0#2"  # as Captured spells its keys
    assert str(Site.parse("layer1.0.relu")) == "layer1.0.relu"
    with pytest.raises(ValueError, match="first call of a module has no suffix"):
        Site.parse("layer1.0.relu#0")
    with pytest.raises(ValueError, match="call number"):
        Site.parse("layer1.0.relu#x")


def test_resolve_sites_keeps_the_call(model):
    assert resolve_sites(model, "layer1.0.relu#1") == [Site("layer1.0.relu", None, 1)]
    assert [str(s) for s in resolve_sites(model, "layer?.0.relu#1")] == [
        f"layer{i}.0.relu#1" for i in range(1, 5)
    ]


# -- capture -------------------------------------------------------------------------------


def test_capture_call_suffix_hooks_once_and_gives_the_block_output(model, images, captured):
    with capture(model, "layer1.0.relu#1") as acts, torch.inference_mode():
        model(images)
        assert list(acts) == ["layer1.0.relu", "layer1.0.relu#1"]
    assert torch.equal(acts["layer1.0.relu#1"], captured["layer1.0"])
    assert not torch.equal(acts["layer1.0.relu"], captured["layer1.0"])
    assert _no_hooks(model)


def test_capture_call_beyond_the_module_calls_is_a_clear_error(model, images):
    message = (
        "layer1.0.relu is called 2 times per forward (layer1.0.relu, layer1.0.relu#1); "
        "there is no #2"
    )
    with (
        pytest.raises(ValueError, match=re.escape(message)),
        capture(model, "layer1.0.relu#2"),
        torch.inference_mode(),
    ):
        model(images)
    assert _no_hooks(model)
    with pytest.raises(ValueError, match=r"called once per forward \(layer1.0.conv1\)"):
        expand_sites(model, "layer1.0.conv1#1", images[0])
    assert _no_hooks(model)


# -- expand_sites --------------------------------------------------------------------------


def test_expand_sites_gives_the_keys_capture_gives_in_execution_order(model, images):
    with capture(model, "layer1.*") as acts, torch.inference_mode():
        model(images[:1])
        keys = list(acts)
    assert expand_sites(model, "layer1.*", images[0]) == keys
    assert "layer1.0.relu#1" in keys and keys.index("layer1.0.relu#1") < keys.index("layer1.0")
    assert expand_sites(model, ["layer2.0", "layer1.0.relu#1"], images[:2]) == [
        "layer1.0.relu#1",
        "layer2.0",
    ]
    assert expand_sites(model, "layer?.0.relu#1", images[0]) == [
        f"layer{i}.0.relu#1" for i in range(1, 5)
    ]
    assert expand_sites(model, nn.BatchNorm2d, images[0])[:2] == ["bn1", "layer1.0.bn1"]
    assert _no_hooks(model)


class _Unused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.used = nn.Conv2d(3, 4, 3)
        self.unused = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.used(x)


def test_sites_that_never_run_are_errors_not_empty_results():
    model = _Unused()
    x = torch.randn(3, 8, 8)
    with pytest.raises(ValueError, match="unused is not called in the model's forward"):
        expand_sites(model, "unused", x)
    with pytest.raises(ValueError, match=r"'unus\*' matches modules \(unused\) but captured"):
        expand_sites(model, "unus*", x)
    with pytest.raises(ValueError, match="matches no site"):
        expand_sites(model, "head.*", x)
    assert expand_keys(model, "*", ["used"]) == ["used"]
    assert _no_hooks(model)


# -- every scan analyzer -------------------------------------------------------------------

SINGLE_SITE = {
    "TopActivations": lambda s: TopActivations(s, k=2),
    "Selectivity": lambda s: Selectivity(s, bins=8),
    "ImageEmbeddings": lambda s: ImageEmbeddings(s),
    "PatchEmbeddings": lambda s: PatchEmbeddings(s, neighbourhood=3, max_patches=40),
    "IncrementalPCA": lambda s: IncrementalPCA(3, site=s),
    "FilterActivity": lambda s: FilterActivity(s),
    "ChannelRelevance": lambda s: ChannelRelevance(
        s, masks=(torch.arange(N * SIZE * SIZE).view(N, SIZE, SIZE) % 7 < 3).float()
    ),
}


@pytest.mark.parametrize("name", sorted(SINGLE_SITE))
def test_single_site_analyzer_takes_call_suffix_and_glob(name, model, data):
    make = SINGLE_SITE[name]
    # one scan: the second ReLU call, a glob meaning the same, the block module itself
    # (the same tensor through another hook) and the first ReLU call (a different one)
    analyzers = [make("layer1.0.relu#1"), make("layer1.0.r*#1"), make("layer1.0")]
    analyzers.append(make("layer1.0.relu"))
    results = scan(model, data, analyzers, batch_size=4, progress=False)
    by_call, by_glob, by_block, first_call = results
    assert _equal(by_call, by_block) and _equal(by_glob, by_block)
    assert not _equal(first_call, by_block)
    assert [a.site for a in analyzers[:2]] == ["layer1.0.relu#1"] * 2
    assert analyzers[1].sites == ("layer1.0.relu#1",)
    if hasattr(by_glob, "site"):  # results name the concrete site, never the pattern
        assert by_glob.site == by_call.site == "layer1.0.relu#1"
    assert _no_hooks(model)


def test_activation_stats_gets_exactly_capture_keys_and_values(model, data, captured):
    stats = ActivationStats(["layer1.*"])
    (result,) = scan(model, data, [stats], batch_size=4, progress=False)
    assert list(result.sites) == [k for k in captured if k.startswith("layer1.")]
    for key in ("layer1.0.relu", "layer1.0.relu#1", "layer1.1"):
        expected = captured[key].flatten(2).mean(-1).mean(0)
        torch.testing.assert_close(result.sites[key].mean, expected, atol=1e-5, rtol=1e-5)
        assert result.sites[key].site == key
    assert stats.sites == tuple(result.sites)


def test_feature_collector_gets_exactly_capture_keys_and_values(model, data, captured):
    collector = FeatureCollector("layer1.*")
    (result,) = scan(model, data, [collector], batch_size=4, progress=False)
    assert list(result.features) == [k for k in captured if k.startswith("layer1.")]
    pooled = captured["layer1.0.relu#1"].mean((2, 3))
    torch.testing.assert_close(result.features["layer1.0.relu#1"], pooled)
    assert not torch.allclose(result.features["layer1.0.relu"], pooled)


def test_single_site_analyzer_with_several_matches_says_what_to_do(model, data):
    with pytest.raises(ValueError) as err:
        scan(model, data, [TopActivations("layer1.0.relu*")], progress=False)
    message = str(err.value)
    assert "TopActivations takes one site, but 'layer1.0.relu*' matches 2" in message
    assert "layer1.0.relu, layer1.0.relu#1" in message
    assert "interpret.expand_sites(model, 'layer1.0.relu*', example)" in message
    assert _no_hooks(model)


@pytest.mark.parametrize(
    ("site", "match"),
    [
        ("layer1.0.relu#2", r"called 2 times per forward .*there is no #2"),
        ("layer9.*", "matches no site"),
        ("layer1.0.relux", "Unknown site 'layer1.0.relux'.*layer1.0.relu"),
    ],
)
def test_scan_refuses_bad_sites_and_leaves_no_hook(site, match, model, data):
    with pytest.raises(ValueError, match=match):
        scan(model, data, [Selectivity(site)], progress=False)
    with pytest.raises(ValueError, match=match):
        scan(model, data, [ActivationStats(["layer1.0", site])], progress=False)
    assert _no_hooks(model)


def test_patch_embeddings_with_model_wants_a_concrete_site(model):
    with pytest.raises(ValueError, match="give one concrete site"):
        PatchEmbeddings("layer1.*", model=model, input_size=(SIZE, SIZE))
