import pytest
import torch
from torch import nn

from interpret.core import StopForward, capture, checked_forward, hook_count, run_and_capture
from interpret.testing import awkward_zoo, chain_cnn


def _reference_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every module's output by running the chain by hand (no hooks)."""
    outs = {}
    h = x
    for name, module in model.features.named_children():
        h = module(h)
        outs[f"features.{name}"] = h.clone()
    return outs


def test_observe_equals_manual_forward():
    model = chain_cnn()
    x = torch.randn(2, 3, 23, 31, generator=torch.Generator().manual_seed(1))
    expected = _reference_outputs(model, x)
    with capture(model, "features.*") as acts, torch.no_grad():
        model(x)
    assert set(acts) == set(expected)
    for key, value in expected.items():
        torch.testing.assert_close(acts[key], value, rtol=0, atol=0)


def test_inplace_relu_does_not_corrupt_capture():
    entry = awkward_zoo()["inplace_relu"]
    model = entry.build()
    x = torch.randn(2, *entry.input_shape, generator=torch.Generator().manual_seed(2))
    with capture(model, "conv1") as acts, torch.no_grad():
        model(x)
    with torch.no_grad():
        expected = model.conv1(x)
    assert (expected < 0).any()  # the in-place ReLU would have zeroed these
    torch.testing.assert_close(acts["conv1"], expected)


def test_reused_module_gives_two_keys_in_call_order():
    entry = awkward_zoo()["reused_relu"]
    model = entry.build()
    x = torch.randn(1, *entry.input_shape, generator=torch.Generator().manual_seed(3))
    with capture(model, "relu") as acts, torch.no_grad():
        model(x)
        first = torch.relu(model.conv1(x))
        second = torch.relu(model.conv2(first))
    assert list(acts) == ["relu", "relu#1"]
    torch.testing.assert_close(acts["relu"], first)
    torch.testing.assert_close(acts["relu#1"], second)


def test_store_is_refilled_each_forward():
    model = chain_cnn()
    with capture(model, "features.0") as acts, torch.no_grad():
        model(torch.zeros(1, 3, 16, 16))
        model(torch.ones(2, 3, 16, 16))
    assert list(acts) == ["features.0"]
    assert acts["features.0"].shape[0] == 2


@pytest.mark.parametrize("name", sorted(awkward_zoo()))
def test_zoo_models_capture_their_site(name):
    entry = awkward_zoo()[name]
    model = entry.build()
    x = torch.randn(2, *entry.input_shape, generator=torch.Generator().manual_seed(4))
    before = hook_count(model)
    with capture(model, entry.site) as acts, torch.no_grad():
        model(x)
    assert hook_count(model) == before
    assert entry.site in acts
    assert acts[entry.site].shape[0] == 2
    assert torch.isfinite(acts[entry.site]).all()


def test_tuple_and_dict_outputs_need_explicit_selector():
    tuple_model = awkward_zoo()["tuple_block"].build()
    x = torch.randn(1, 3, 8, 10)
    with (
        pytest.raises(ValueError, match=r"pick one element with 'block:0'"),
        capture(tuple_model, "block"),
        torch.no_grad(),
    ):
        tuple_model(x)
    _, acts = run_and_capture(tuple_model, x, ["block:0", "block:1"])
    with torch.no_grad():
        maps, pooled = tuple_model.block(x)
    torch.testing.assert_close(acts["block:0"], maps)
    torch.testing.assert_close(acts["block:1"], pooled)
    with pytest.raises(ValueError, match="not an index"):
        run_and_capture(tuple_model, x, "block:7")

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = awkward_zoo()["dict_output"].build()

        def forward(self, x):
            return self.inner(x)["logits"]

    wrapped = Wrap()
    with pytest.raises(ValueError, match="returns a dict; pick one of 'inner:logits'"):
        run_and_capture(wrapped, x, "inner")
    out, acts = run_and_capture(wrapped, x, "inner:embedding")
    assert acts["inner:embedding"].shape == (1, 4)


def test_grad_mode_keeps_graph_to_input():
    model = chain_cnn()
    x = torch.randn(1, 3, 16, 16, requires_grad=True)
    with capture(model, "features.3", mode="grad") as acts:
        model(x)
        acts["features.3"][0, 2].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_hooks_removed_and_state_restored_when_forward_raises():
    model = chain_cnn().train()
    params = list(model.parameters())
    params[0].requires_grad_(False)
    flags = [p.requires_grad for p in params]
    before = hook_count(model)
    with pytest.raises(RuntimeError), capture(model, ["features.0", "classifier.2"]):
        model.eval()
        for p in params:
            p.requires_grad_(not p.requires_grad)
        model(torch.randn(1, 5, 16, 16))  # wrong channel count: the forward raises
    assert hook_count(model) == before
    assert all(m.training for m in model.modules())
    assert [p.requires_grad for p in params] == flags


def test_bad_mode():
    with pytest.raises(ValueError, match="mode must be"), capture(chain_cnn(), "0", mode="train"):
        pass


def test_stop_forward_ends_the_pass_after_the_hooked_module():
    model = chain_cnn()
    ran: list[str] = []
    for name, module in model.features.named_children():
        module.register_forward_hook(lambda *_, name=name: ran.append(name))

    def stop(*_):
        raise StopForward

    model.features[2].register_forward_hook(stop)
    assert checked_forward(model, torch.randn(1, 3, 16, 16)) is None
    assert ran == ["0", "1", "2"]  # the modules after features.2 never ran
    with pytest.raises(ValueError, match="could not run on inputs of shape"):
        checked_forward(model, torch.randn(1, 5, 16, 16))  # wrong channel count
