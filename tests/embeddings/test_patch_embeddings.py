"""PatchEmbeddings: vectors, provenance (exact receptive-field boxes), sampling, merging,
hygiene and bad input."""

from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F

from interpret import scan
from interpret.core import Batch, capture, hook_count, uniform_keys
from interpret.embeddings import PatchEmbeddings, PatchEmbeddingsResult, site_fields
from interpret.testing import ResidualNet, awkward_zoo, chain_cnn


def _activations(net, site, data):
    with capture(net, site) as acts, torch.inference_mode():
        net.eval()
        net(torch.stack([data[i][0] for i in range(len(data))]))
        return acts[site].clone()


def _feed(analyzer, net, data, *batches):
    """Feed batches of the given global dataset rows, as a shard of a sharded scan would."""
    for rows in batches:
        x = torch.stack([data[i][0] for i in rows])
        y = torch.tensor([data[i][1] for i in rows])
        with capture(net, analyzer.sites) as acts, torch.inference_mode():
            net.eval()
            net(x)
            analyzer.update(acts, Batch(x, torch.tensor(rows), y))


def _scan(net, data, **kwargs):
    site = kwargs.pop("site", "features.3")
    return scan(net, data, [PatchEmbeddings(site, **kwargs)], batch_size=4, progress=False)[0]


@pytest.mark.parametrize("k", [1, 3])
def test_vectors_are_the_neighbourhoods_at_the_recorded_positions(images, k):
    net = chain_cnn()
    res = _scan(net, images, neighbourhood=k, max_patches=50, model=net)
    act = _activations(net, "features.3", images)  # (10, 8, 15, 19)
    assert res.vectors.shape == (50, 8 * k * k)
    r = (k - 1) // 2
    for vec, img, (y, x) in zip(res.vectors, res.image_index, res.positions.tolist()):
        block = act[img, :, y - r : y - r + k, x - r : x - r + k]
        assert torch.equal(vec, block.reshape(-1))  # (channel, dy, dx) order, as F.unfold
        unfolded = F.unfold(act[img][None], k)[0]  # (C*k*k, L)
        assert torch.equal(vec, unfolded[:, (y - r) * (19 - k + 1) + (x - r)])
    assert res.labels is not None and torch.equal(res.labels, images.y[res.image_index])


def test_boxes_are_exact_receptive_fields(images, support_box):
    net = chain_cnn()
    res = _scan(net, images, site="features.5", neighbourhood=3, max_patches=12, model=net)
    assert res.field_method == "chain"
    for box, img, (y, x) in zip(res.boxes.tolist(), res.image_index, res.positions.tolist()):
        assert tuple(box) == support_box(net, "features.5", images[int(img)][0], y, x, k=3)


def test_boxes_by_gradient_support_on_a_residual_net(support_box):
    net = ResidualNet()
    data = torch.utils.data.TensorDataset(torch.randn(3, 3, 10, 7))
    with pytest.raises(ValueError, match="input_size"):
        PatchEmbeddings("relu2", model=net)
    pe = PatchEmbeddings("relu2", neighbourhood=1, max_patches=15, model=net, input_size=(10, 7))
    res = scan(net, data, [pe], progress=False)[0]
    assert res.field_method == "gradient"
    for box, img, (y, x) in zip(res.boxes.tolist(), res.image_index, res.positions.tolist()):
        assert tuple(box) == support_box(net, "relu2", data[int(img)][0], y, x)
    other = torch.utils.data.TensorDataset(torch.randn(2, 3, 12, 7))
    with pytest.raises(ValueError, match="measured for inputs"):
        scan(net, other, [pe], progress=False)


def test_thumbnails_are_the_padded_field_crops(images):
    net = chain_cnn()
    res = _scan(net, images, site="features.5", max_patches=8, model=net, thumbnail_size=16)
    grid = site_fields(net, "features.5", (32, 40))
    for thumb, img, (y, x) in zip(res.thumbnails, res.image_index, res.positions.tolist()):
        top, bottom = grid.rows_full[y].tolist()
        left, right = grid.cols_full[x].tolist()
        padded = F.pad(images[int(img)][0], (20, 20, 20, 20))  # zeros: the network's padding
        crop = padded[:, top + 20 : bottom + 20, left + 20 : right + 20]
        want = F.interpolate(crop[None], (16, 16), mode="bilinear", antialias=False)[0]
        torch.testing.assert_close(thumb.float(), want, atol=2e-3, rtol=2e-3)


def test_reservoir_keeps_the_smallest_keys_and_merges_exactly(images):
    net = chain_cnn()
    res = _scan(net, images, max_patches=40, seed=3)
    # literal: every valid (image, y, x) id, keep the 40 smallest keys
    ids = torch.tensor(
        [(i << 24) + (y << 12) + x for i in range(10) for y in range(15) for x in range(19)]
    )
    want = ids[torch.argsort(uniform_keys(ids, 3))[:40]]
    got = (res.image_index << 24) + (res.positions[:, 0] << 12) + res.positions[:, 1]
    assert torch.equal(got, want)
    assert res.seen == 10 * 15 * 19 and res.images_seen == 10
    # two shards (global dataset indices), merged after a pickle round trip, give the
    # single-pass sample
    a = PatchEmbeddings("features.3", max_patches=40, seed=3)
    b = PatchEmbeddings("features.3", max_patches=40, seed=3)
    _feed(a, net, images, [7, 8, 9, 0])
    _feed(b, net, images, [1, 2, 3], [4, 5, 6])
    a = pickle.loads(pickle.dumps(a))
    a.merge(b)
    merged = a.result()
    assert torch.equal(merged.vectors, res.vectors)
    assert torch.equal(merged.image_index, res.image_index)
    assert torch.equal(merged.scores, res.scores) and merged.seen == res.seen


def test_stratified_takes_per_image_then_uniform(images):
    net = chain_cnn()
    res = _scan(net, images, max_patches=1000, sampling="stratified", per_image=5, seed=1)
    assert len(res) == 50 and torch.equal(torch.bincount(res.image_index), torch.full((10,), 5))
    for i in range(10):
        ids = torch.tensor([(i << 24) + (y << 12) + x for y in range(15) for x in range(19)])
        want = ids[torch.argsort(uniform_keys(ids, 1))[:5]].sort().values
        mine = res.positions[res.image_index == i]
        got = ((i << 24) + (mine[:, 0] << 12) + mine[:, 1]).sort().values
        assert torch.equal(got, want)


def test_top_keeps_the_highest_activations_of_the_unit(images):
    net = chain_cnn()
    act = _activations(net, "features.3", images)[:, 5, 1:-1, 1:-1]  # k=3: valid anchors
    res = _scan(net, images, neighbourhood=3, max_patches=25, sampling="top", unit=5)
    want = act.reshape(-1).sort(descending=True).values[:25]
    torch.testing.assert_close(res.scores.float(), want)
    assert torch.equal(res.vectors[:, 5 * 9 + 4], res.scores.float())  # the centre unit
    distinct = _scan(net, images, max_patches=25, sampling="top", unit=5, per_image=1)
    assert len(distinct) == 10 and len(distinct.image_index.unique()) == 10
    best = _activations(net, "features.3", images)[:, 5].amax((1, 2)).sort(descending=True).values
    torch.testing.assert_close(distinct.scores.float(), best)


def test_memory_is_bounded_by_max_patches():
    net = chain_cnn()
    pe = PatchEmbeddings("features.3", max_patches=30)
    gen = torch.Generator().manual_seed(0)
    for b in range(12):
        x = torch.randn(8, 3, 32, 32, generator=gen)
        with capture(net, "features.3") as acts, torch.inference_mode():
            net(x)
            pe.update(acts, Batch(x, torch.arange(8 * b, 8 * b + 8)))
        assert len(pe._kept) <= 30 and pe._kept.columns["vectors"].shape[0] <= 30
    assert pe.seen == 12 * 8 * 15 * 15


def test_hooks_and_state_restored_also_after_an_error(images):
    net = chain_cnn().train()
    before = hook_count(net)
    _scan(net, images, max_patches=5)
    assert hook_count(net) == before and net.training
    with pytest.raises(ValueError, match="no spatial extent"):
        _scan(net, images, site="classifier.2")
    assert hook_count(net) == before and net.training
    assert all(p.requires_grad for p in net.parameters())


def test_result_saves_and_loads(images, tmp_path):
    net = chain_cnn()
    res = _scan(net, images, neighbourhood=3, max_patches=7, model=net)
    back = PatchEmbeddingsResult.load(res.save(tmp_path / "p.pt"))
    assert torch.equal(back.vectors, res.vectors) and torch.equal(back.boxes, res.boxes)
    assert back.map_size == (15, 19) and back.input_size == (32, 40) and back.neighbourhood == 3


def test_float16_storage(images):
    net = chain_cnn()
    res = _scan(net, images, max_patches=9, dtype=torch.float16)
    full = _scan(net, images, max_patches=9)
    assert res.vectors.dtype == torch.float16
    torch.testing.assert_close(res.vectors.float(), full.vectors, atol=1e-2, rtol=1e-3)


def test_bad_input_is_refused(images):
    net = chain_cnn()
    with pytest.raises(ValueError, match="no spatial extent"):
        _scan(net, images, site="classifier.1")  # (N, 10) after flatten
    with pytest.raises(ValueError, match="no spatial extent"):
        _scan(net, images, site="classifier.0")  # (N, 10, 1, 1)
    with pytest.raises(ValueError, match="does not fit"):
        _scan(net, images, site="features.8", neighbourhood=5)  # 3x4 map
    with pytest.raises(ValueError, match="unit=99"):
        _scan(net, images, sampling="top", unit=99)
    with pytest.raises(ValueError, match="pass unit"):
        PatchEmbeddings("features.3", sampling="top")
    with pytest.raises(ValueError, match="stratified"):
        PatchEmbeddings("features.3", per_image=3)
    with pytest.raises(ValueError, match="sampling"):
        PatchEmbeddings("features.3", sampling="random")
    with pytest.raises(ValueError, match="neighbourhood"):
        PatchEmbeddings("features.3", neighbourhood=0)
    with pytest.raises(TypeError, match="site"):
        PatchEmbeddings(3)
    with pytest.raises(ValueError, match="saw no batch"):
        PatchEmbeddings("features.3").result()


@pytest.mark.parametrize("name", sorted(awkward_zoo()))
def test_awkward_models_get_exact_boxes_and_keep_no_hooks(name, support_box):
    entry = awkward_zoo()[name]
    net = entry.build()
    gen = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(2, *entry.input_shape, generator=gen))
    before = hook_count(net)
    pe = PatchEmbeddings(entry.site, max_patches=5, model=net, input_size=entry.input_shape[1:])
    res = scan(net, data, [pe], progress=False)[0]
    assert hook_count(net) == before
    for box, img, (y, x) in zip(res.boxes.tolist(), res.image_index, res.positions.tolist()):
        assert tuple(box) == support_box(net, entry.site, data[int(img)][0], y, x), (y, x)
