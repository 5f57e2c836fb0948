import pytest
from torch import nn

from interpret.core import Site, get_module, list_sites, resolve_sites
from interpret.testing import chain_cnn


def test_list_sites_are_named_modules():
    model = chain_cnn()
    assert list_sites(model) == [n for n, _ in model.named_modules() if n]


def test_resolve_exact_glob_type_and_order():
    model = chain_cnn()
    assert resolve_sites(model, "features.3") == [Site("features.3")]
    convs = resolve_sites(model, nn.Conv2d)
    assert [s.module for s in convs] == ["features.0", "features.3", "features.6"]
    pools = resolve_sites(model, ["features.*", nn.MaxPool2d])
    assert [s.module for s in pools] == [f"features.{i}" for i in range(9)]
    # model order, not selector order; duplicates merged
    assert [s.module for s in resolve_sites(model, ["features.6", "features.0", "features.6"])] == [
        "features.0",
        "features.6",
    ]


def test_unknown_site_lists_closest_names():
    with pytest.raises(
        ValueError, match=r"Unknown site 'features\.30'.*Closest sites: .*features\.3"
    ):
        resolve_sites(chain_cnn(), "features.30")
    with pytest.raises(ValueError, match="Unknown site"):
        get_module(chain_cnn(), "")


def test_bad_selectors():
    model = chain_cnn()
    with pytest.raises(ValueError, match="matches no site"):
        resolve_sites(model, "head.*")
    with pytest.raises(ValueError, match="No module of type"):
        resolve_sites(model, nn.LSTM)
    with pytest.raises(TypeError, match="site selector"):
        resolve_sites(model, [3])
    with pytest.raises(ValueError, match="No site given"):
        resolve_sites(model, [])


def test_site_keys_parse():
    assert Site.parse("block:0") == Site("block", "0")
    assert str(Site("block", "logits")) == "block:logits"
