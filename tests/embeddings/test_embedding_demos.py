"""The figures a person looks at, on real data: EfficientNet-Lite0 (bundled ImageNet
weights) over crops of the sample photos, and a small ZFNet trained on the digits.

Slow (a few minutes of CPU). Figures are written to ``$INTERPRET_FIGURES`` when set (to
look at them), else to a temporary folder. Each figure comes with a check of what it is
meant to show.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from interpret import scan
from interpret.embeddings import (
    ImageEmbeddings,
    PatchEmbeddings,
    knn_accuracy,
    nearest,
    pca,
    tsne,
)
from interpret.embeddings.plot import (
    plot_neighbors,
    plot_scatter,
    plot_thumbnail_map,
    plot_unit_patches,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outdir(tmp_path_factory) -> Path:
    path = os.environ.get("INTERPRET_FIGURES")
    out = Path(path) if path else tmp_path_factory.mktemp("figures")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    assert path.stat().st_size > 10_000


class PhotoCrops(Dataset):
    """``per_photo`` random square crops (30-90 % of the shorter side) of each sample
    photo, preprocessed for EfficientNet-Lite0; label = photo index."""

    def __init__(self, per_photo: int = 8, seed: int = 0) -> None:
        from interpret.data import EFFICIENTNET_LITE0, Preprocess, sample_photos

        square = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=224, interpolation="bicubic")
        rng = np.random.default_rng(seed)
        self.names, items = [], []
        for label, (name, photo) in enumerate(sample_photos()):
            self.names.append(name)
            h, w = photo.shape[:2]
            for _ in range(per_photo):
                side = int(min(h, w) * rng.uniform(0.3, 0.9))
                top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
                crop = np.ascontiguousarray(photo[top : top + side, left : left + side])
                items.append((square(crop), label))
        self.items = items
        self.inverse = EFFICIENTNET_LITE0.inverse

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


def test_efficientnet_photo_crops(outdir):
    from interpret.models.efficientnet import efficientnet_lite0

    model = efficientnet_lite0()
    crops = PhotoCrops(per_photo=6)
    inverse = lambda t: crops.inverse(t, clamp=True)  # noqa: E731
    patches = PatchEmbeddings(
        "blocks.3",
        max_patches=900,
        sampling="stratified",
        per_image=10,
        model=model,
        input_size=(224, 224),
        thumbnail_size=40,
    )
    top = PatchEmbeddings(
        "blocks.3",
        neighbourhood=3,
        max_patches=120,
        sampling="top",
        unit=7,
        per_image=3,
        field=patches.field,
        thumbnail_size=40,
    )
    images = ImageEmbeddings("global_pool", thumbnail_size=64)
    patches, top, images = scan(model, crops, [patches, top, images], batch_size=16, progress=False)
    assert patches.field_method == "gradient" and len(patches) == 660
    # the boxes of blocks.3 (stride 16) are about 100 px wide inside the image
    widths = patches.boxes[:, 3] - patches.boxes[:, 1]
    assert int(widths.max()) >= 90

    # image map: crops of one photo sit together in the last hidden layer
    emb_images = tsne(images, perplexity=10, seed=0)
    assert knn_accuracy(images.vectors, images.labels, k=3, queries=None) >= 0.8
    assert knn_accuracy(emb_images.coordinates, images.labels, k=3, queries=None) >= 0.75
    _save(
        plot_thumbnail_map(emb_images, images, cells=14, inverse=inverse, thumbnail_size=64),
        outdir / "effnet_image_map.png",
    )
    _save(plot_scatter(emb_images, class_names=crops.names), outdir / "effnet_image_scatter.png")

    # patch thumbnail map (t-SNE of local blocks.3 vectors)
    emb_patches = tsne(patches, perplexity=30, seed=0)
    _save(
        plot_thumbnail_map(emb_patches, patches, cells=22, inverse=inverse),
        outdir / "effnet_patch_map.png",
    )

    # a unit's top patches beside the PCA of their 3x3 neighbourhoods
    _save(plot_unit_patches(top, pca(top, 2), inverse=inverse), outdir / "effnet_unit7.png")

    # the 20 nearest crops to a query, with Euclidean distances
    res = nearest(images, [5], k=20)
    same = (images.labels[res.indices[0, :5]] == images.labels[5]).float().mean()
    assert float(same) >= 0.6
    _save(
        plot_neighbors(res, images, inverse=inverse, class_names=crops.names),
        outdir / "effnet_neighbors.png",
    )


def test_digits_with_a_trained_net(outdir):
    from interpret.data import Digits
    from interpret.models.training import evaluate_accuracy, train_zfnet
    from interpret.models.zfnet import zfnet_digits

    gen = torch.Generator().manual_seed(0)
    model = zfnet_digits(generator=gen)
    train, test = Digits(size=32, split="train"), Digits(size=32, split="test")
    train_zfnet(model, train, epochs=3, generator=gen)
    assert evaluate_accuracy(model, test) >= 0.85
    inverse = lambda t: test.preprocess.inverse(t, clamp=True)  # noqa: E731
    fc7 = ImageEmbeddings("classifier.5", thumbnail_size=24)
    patches = PatchEmbeddings(
        "features.5", max_patches=1500, model=model, input_size=(32, 32), thumbnail_size=20
    )
    fc7, patches = scan(model, test, [fc7, patches], progress=False)
    emb = tsne(fc7, perplexity=30, seed=0)
    assert knn_accuracy(emb.coordinates, fc7.labels, k=5, queries=None) >= 0.85
    _save(plot_scatter(emb, class_names=test.classes), outdir / "digits_fc7_scatter.png")
    _save(plot_thumbnail_map(emb, fc7, cells=20, inverse=inverse), outdir / "digits_fc7_map.png")
    emb_p = tsne(patches, perplexity=30, seed=0)
    _save(
        plot_thumbnail_map(emb_p, patches, cells=20, inverse=inverse),
        outdir / "digits_patch_map.png",
    )
    res = nearest(fc7, [0], k=20)
    assert float((fc7.labels[res.indices[0]] == fc7.labels[0]).float().mean()) >= 0.8
    _save(
        plot_neighbors(res, fc7, inverse=inverse, class_names=test.classes),
        outdir / "digits_neighbors.png",
    )
