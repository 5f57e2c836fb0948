"""TopActivations over a dataset (== sorting everything, also split and merged) and project_top."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch.utils.data import TensorDataset

from interpret import scan
from interpret.core import Batch, hook_count
from interpret.core.capture import run_and_capture
from interpret.deconvnet import (
    TopActivations,
    TopActivationsResult,
    TopProjectionsResult,
    project,
    project_top,
)
from interpret.testing import awkward_zoo, chain_cnn

SITE = "features.4"


def assert_close(actual, expected, rtol=1e-6, atol=1e-7):
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    err = float((actual - expected).abs().max()) if actual.numel() else 0.0
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), f"max abs error {err:.3g}"


@pytest.fixture(scope="module")
def net():
    return chain_cnn()


@pytest.fixture(scope="module")
def data():
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(37, 3, 23, 31, generator=gen)
    images[5] = images[17]  # an exact tie between two images
    return TensorDataset(images, torch.zeros(37, dtype=torch.long))


def _all_activations(net, data):
    _, acts = run_and_capture(net, data.tensors[0], SITE)
    return acts[SITE]  # (N, C, h, w)


def _sorted_reference(acts, k, distinct):
    """Literal top-k: list every candidate, sort by (-value, image, location)."""
    n, c, h, w = acts.shape
    expected = []
    for channel in range(c):
        candidates = []
        for image in range(n):
            flat = acts[image, channel].flatten()
            if distinct:
                best = max(range(h * w), key=lambda p: (float(flat[p]), -p))
                candidates.append((-float(flat[best]), image, best))
            else:
                candidates += [(-float(flat[p]), image, p) for p in range(h * w)]
        candidates.sort()
        expected.append(candidates[:k])
    return expected


def _check_against(result, expected, width):
    for channel, rows in enumerate(expected):
        assert result.image_index[channel].tolist() == [r[1] for r in rows]
        assert (result.y[channel] * width + result.x[channel]).tolist() == [r[2] for r in rows]
        assert result.values[channel].tolist() == pytest.approx([-r[0] for r in rows])


@pytest.mark.parametrize("distinct", [True, False])
def test_top_k_equals_sorting_everything(net, data, distinct):
    (result,) = scan(net, data, [TopActivations(SITE, k=9, distinct_images=distinct)],
                     batch_size=8, progress=False)  # fmt: skip
    acts = _all_activations(net, data)
    _check_against(result, _sorted_reference(acts, 9, distinct), acts.shape[-1])
    assert result.images_seen == 37 and result.map_size == tuple(acts.shape[-2:])
    if distinct:  # the tied pair (images 5 and 17) never both appear twice as one image
        for row in result.image_index.tolist():
            assert len(set(row)) == len(row)


def test_split_scan_merges_to_the_single_pass(net, data):
    (whole,) = scan(net, data, [TopActivations(SITE, k=9)], batch_size=5, progress=False)
    images = data.tensors[0]
    shards = [
        torch.tensor([3, 30, 7, 8, 21, 5]),
        torch.arange(9, 21),
        torch.tensor([0, 1, 2, 4, 6]),
    ]
    rest = sorted(set(range(37)) - set(torch.cat(shards).tolist()))
    shards.append(torch.tensor(rest))
    parts = []
    for shard in shards:
        analyzer = TopActivations(SITE, k=9)
        for chunk in torch.split(shard, 4):
            _, acts = run_and_capture(net, images[chunk], SITE)
            analyzer.update(acts, Batch(images[chunk], chunk))
        parts.append(pickle.loads(pickle.dumps(analyzer)))  # states travel between ranks
    merged = TopActivations(SITE, k=9)
    for part in reversed(parts):
        merged.merge(part)
    result = merged.result()
    for field in ("values", "image_index", "y", "x"):
        assert torch.equal(getattr(result, field), getattr(whole, field)), field
    assert result.images_seen == 37


def test_dead_and_constant_channels_keep_the_lowest_indices():
    # ties everywhere: a dead channel (all zero) and a constant one; the k lowest dataset
    # indices must win whatever the order the images arrive in
    images = torch.randn(30, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    acts = torch.zeros(30, 3, 4, 4)
    acts[:, 1] = 2.5
    acts[:, 2] = images[:, 0, :4, :4]
    order = torch.randperm(30, generator=torch.Generator().manual_seed(3))
    analyzer = TopActivations("site", k=4)
    for chunk in torch.split(order, 7):
        analyzer.update({"site": acts[chunk]}, Batch(images[chunk], chunk))
    result = analyzer.result()
    assert result.image_index[0].tolist() == [0, 1, 2, 3] and result.image_index[1].tolist() == [
        0,
        1,
        2,
        3,
    ]
    assert (result.y[:2] == 0).all() and (result.x[:2] == 0).all()
    flat = acts[:, 2].flatten(1).amax(1)
    assert result.image_index[2].tolist() == flat.argsort(descending=True)[:4].tolist()


def test_fewer_images_than_k(net, data):
    small = TensorDataset(data.tensors[0][:4])
    (result,) = scan(net, small, [TopActivations(SITE, k=6)], progress=False)
    assert (result.image_index[:, 4:] == -1).all() and torch.isinf(result.values[:, 4:]).all()
    shown = project_top(net, small, result, channels=[0, 1])
    assert (shown.projections[:, 4:] == 0).all() and not shown.inside[:, 4:].any()
    assert shown.projections[:, :4].abs().amax((2, 3, 4)).gt(0).all()


def test_analyzer_errors(net):
    with pytest.raises(ValueError, match="k must be"):
        TopActivations(SITE, k=0)
    with pytest.raises(TypeError, match="site"):
        TopActivations(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seen no images"):
        TopActivations(SITE).result()
    with pytest.raises(ValueError, match="different site"):
        TopActivations(SITE, k=3).merge(TopActivations(SITE, k=4))
    analyzer = TopActivations(SITE)
    for size in (23, 29):
        images = torch.randn(2, 3, size, 31)
        _, acts = run_and_capture(net, images, SITE)
        if size == 29:
            with pytest.raises(ValueError, match="changed size"):
                analyzer.update(acts, Batch(images, torch.arange(2)))
        else:
            analyzer.update(acts, Batch(images, torch.arange(2)))


def test_project_top_projects_exactly_the_top_units(net, data):
    (top,) = scan(net, data, [TopActivations(SITE, k=3)], progress=False)
    shown = project_top(net, data, top, channels=[4, 1])
    assert isinstance(shown, TopProjectionsResult) and shown.window == "receptive"
    assert shown.route == "reverse" and shown.channels.tolist() == [4, 1]
    images = data.tensors[0]
    for i, channel in enumerate([4, 1]):
        for j in range(3):
            image = int(top.image_index[channel, j])
            y, x = int(top.y[channel, j]), int(top.x[channel, j])
            full = project(net, images[image : image + 1], SITE, units=[[0, channel, y, x]])
            t, left, b, r = shown.boxes[i, j].tolist()
            assert (b - t, r - left) == (9, 9)  # conv3: 3, pool 3/2: +2, conv3 at jump 2: +4
            # nothing of the projection lies outside the receptive field
            outside = full.projections[0].clone()
            outside[:, max(t, 0) : b, max(left, 0) : r] = 0
            assert outside.abs().max() == 0
            crop = shown.projections[i, j][:, shown.inside[i, j]]
            region = full.projections[0][:, max(t, 0) : b, max(left, 0) : r]
            scale = float(region.abs().max())
            assert_close(crop, region.reshape(3, -1), rtol=1e-5, atol=1e-5 * scale)
            patch = shown.patches[i, j][:, shown.inside[i, j]]
            assert torch.equal(
                patch, images[image][:, max(t, 0) : b, max(left, 0) : r].reshape(3, -1)
            )
            assert (shown.patches[i, j][:, ~shown.inside[i, j]] == 0).all()


def test_first_layer_projections_are_the_filters(net, data):
    # one conv1 unit projects to its activation times its filter, in its 3x3 field
    (top,) = scan(net, data, [TopActivations("features.1", k=4)], progress=False)
    shown = project_top(net, data, top, channels=[0, 5])
    weight = net.features[0].weight.detach()
    for i, channel in enumerate([0, 5]):
        for j in range(4):
            expected = top.values[channel, j] * weight[channel] * shown.inside[i, j]
            assert_close(shown.projections[i, j], expected, rtol=1e-5, atol=1e-6)


def test_project_top_on_a_residual_model_uses_the_support(generator):
    entry = awkward_zoo()["residual"]
    model = entry.build()
    images = torch.randn(12, *entry.input_shape, generator=generator)
    data = TensorDataset(images)
    (top,) = scan(model, data, [TopActivations("relu2", k=4)], progress=False)
    shown = project_top(model, data, top, support_mass=1.0)
    assert shown.route == "gradient" and shown.window == "support"
    for i in range(shown.channels.numel()):
        for j in range(4):
            image = int(top.image_index[i, j])
            full = project(model, images[image : image + 1], "relu2",
                           units=[[0, i, int(top.y[i, j]), int(top.x[i, j])]])  # fmt: skip
            t, left, b, r = shown.boxes[i, j].tolist()
            total = full.projections.abs().sum()
            kept = full.projections[0][:, max(t, 0) : b, max(left, 0) : r].abs().sum()
            assert float(kept) == pytest.approx(float(total), rel=1e-6)


def test_project_top_checks_the_scan_still_holds(net, data):
    (top,) = scan(net, data, [TopActivations(SITE, k=2)], progress=False)
    changed = chain_cnn(seed=3)
    with pytest.raises(ValueError, match="differ from the scanned"):
        project_top(changed, data, top, channels=[0])
    project_top(changed, data, top, channels=[0], check=False)


def test_project_top_bad_inputs_and_hygiene(net, data, tmp_path):
    (top,) = scan(net, data, [TopActivations(SITE, k=2)], progress=False)
    before = hook_count(net)
    with pytest.raises(ValueError, match="channels must be"):
        project_top(net, data, top, channels=[99])
    with pytest.raises(TypeError, match="DataLoader"):
        project_top(net, torch.utils.data.DataLoader(data), top)
    with pytest.raises(TypeError, match="TopActivationsResult"):
        project_top(net, data, "top")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GiB"):
        project_top(net, data, top, max_bytes=10)
    assert hook_count(net) == before and not net.training
    shown = project_top(net, data, top, channels=[0])
    loaded = TopProjectionsResult.load(shown.save(tmp_path / "t.pt"))
    assert torch.equal(loaded.projections, shown.projections)
    assert TopActivationsResult.load(top.save(tmp_path / "a.pt")).map_size == top.map_size


def test_scan_failing_mid_way_leaves_no_hook(net):
    class Growing(torch.utils.data.Dataset):
        """Images that change size after the first batch: the analyzer refuses."""

        def __len__(self):
            return 8

        def __getitem__(self, i):
            return torch.randn(3, 23 if i < 4 else 29, 31)

    net.train()
    before = hook_count(net)
    with pytest.raises(ValueError, match="changed size"):
        scan(net, Growing(), [TopActivations(SITE, k=2)], batch_size=4, progress=False)
    assert hook_count(net) == before
    assert all(m.training for m in net.modules())
    net.eval()
