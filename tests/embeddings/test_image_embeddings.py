"""ImageEmbeddings: one vector per image (fc or pooled conv site), reservoir option."""

from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F

from interpret import scan
from interpret.core import Batch, capture, hook_count, uniform_keys
from interpret.embeddings import ImageEmbeddings, ImageEmbeddingsResult
from interpret.testing import DictOutputNet, chain_cnn


def _acts(net, site, data):
    with capture(net, site) as acts, torch.inference_mode():
        net.eval()
        out = net(data.x)
        return acts[site].clone(), out


@pytest.mark.parametrize(
    ("site", "pool", "reduce"),
    [
        ("features.5", "auto", lambda a: a.mean((2, 3))),
        ("features.5", "max", lambda a: a.amax((2, 3))),
        ("features.8", "flatten", lambda a: a.flatten(1)),
        ("classifier.1", "auto", lambda a: a),
    ],
)
def test_vectors_are_the_pooled_activations(images, site, pool, reduce):
    net = chain_cnn()
    res = scan(net, images, [ImageEmbeddings(site, pool)], batch_size=3, progress=False)[0]
    act, out = _acts(net, site, images)
    torch.testing.assert_close(res.vectors, reduce(act))
    assert torch.equal(res.image_index, torch.arange(10))
    assert torch.equal(res.labels, images.y)
    assert torch.equal(res.predictions, out.argmax(1))
    assert res.site_shape == tuple(act.shape[1:]) and res.seen == 10


def test_reservoir_of_images_is_exact_under_sharding(images):
    net = chain_cnn()
    whole = scan(
        net,
        images,
        [ImageEmbeddings("features.8", max_images=4, seed=2)],
        batch_size=3,
        progress=False,
    )[0]
    want = torch.argsort(uniform_keys(torch.arange(10), 2))[:4].sort().values
    assert torch.equal(whole.image_index, want)
    shards = [ImageEmbeddings("features.8", max_images=4, seed=2) for _ in range(2)]
    for analyzer, rows in zip(shards, ([5, 6, 7, 8, 9], [0, 1, 2, 3, 4])):
        with capture(net, "features.8") as acts, torch.inference_mode():
            net(images.x[rows])
            analyzer.update(acts, Batch(images.x[rows], torch.tensor(rows), images.y[rows]))
    a = pickle.loads(pickle.dumps(shards[0]))
    a.merge(shards[1])
    merged = a.result()
    assert torch.equal(merged.image_index, whole.image_index)
    torch.testing.assert_close(merged.vectors, whole.vectors)  # batch sizes differ: rounding


def test_thumbnails_float16_and_save_load(images, tmp_path):
    net = chain_cnn()
    res = scan(
        net,
        images,
        [ImageEmbeddings("features.8", thumbnail_size=8, dtype=torch.float16)],
        progress=False,
    )[0]
    assert res.vectors.dtype == torch.float16 and res.thumbnails.shape == (10, 3, 8, 8)
    want = F.interpolate(images.x, (8, 8), mode="bilinear", antialias=True)
    torch.testing.assert_close(res.thumbnails.float(), want, atol=2e-3, rtol=2e-3)
    back = ImageEmbeddingsResult.load(res.save(tmp_path / "i.pt"))
    assert torch.equal(back.vectors, res.vectors) and back.pool == "mean"


def test_dict_output_site_and_hooks():
    net = DictOutputNet().train()
    before = hook_count(net)
    data = torch.utils.data.TensorDataset(torch.randn(4, 3, 8, 10))
    res = scan(net, data, [ImageEmbeddings("body.1")], progress=False)[0]
    assert res.vectors.shape == (4, 4) and res.labels is None and res.predictions is None
    assert hook_count(net) == before and net.training


def test_bad_input(images):
    with pytest.raises(ValueError, match="pool"):
        ImageEmbeddings("features.5", pool="median")
    with pytest.raises(ValueError, match="max_images"):
        ImageEmbeddings("features.5", max_images=0)
    with pytest.raises(ValueError, match="saw no batch"):
        ImageEmbeddings("features.5").result()
    net = chain_cnn()
    a = ImageEmbeddings("features.5")
    with pytest.raises(ValueError, match="different parameters"):
        a.merge(ImageEmbeddings("features.5", pool="max"))
    # the same image scanned twice (overlapping shards) is refused
    b = ImageEmbeddings("features.5")
    for _ in range(2):
        with capture(net, "features.5") as acts, torch.inference_mode():
            net(images.x[:2])
            b.update(acts, Batch(images.x[:2], torch.arange(2)))
    with pytest.raises(ValueError, match="scanned twice"):
        b.result()
