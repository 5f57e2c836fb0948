"""to_frame of the embeddings results (points, PCA, neighbours, image and patch samples)
equals the tensors it shows; PCA's old ``embedding`` name warns and gives ``coordinates``."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import TensorDataset

from interpret.core import scan
from interpret.embeddings import ImageEmbeddings, PatchEmbeddings, nearest, pca, tsne
from interpret.testing import chain_cnn

CLASSES = ["a", "b", "c"]
NAMES = [f"file_{i}.png" for i in range(30)]


@pytest.fixture(scope="module")
def scanned():
    gen = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(30, 3, 16, 16, generator=gen), torch.arange(30) % 3)
    analyzers = [
        ImageEmbeddings("features.4"),
        PatchEmbeddings("features.1", neighbourhood=3, max_patches=40, model=chain_cnn(),
                        input_size=(16, 16)),
    ]  # fmt: skip
    return scan(chain_cnn(), data, analyzers, batch_size=8, progress=False)


def _check_points(frame, coordinates, labels) -> None:
    assert len(frame) == coordinates.shape[0]
    for row in frame.itertuples():
        for j in range(coordinates.shape[1]):
            assert getattr(row, f"dim_{j}") == coordinates[row.point, j].item()
        assert row.class_index == labels[row.point].item()
        assert row.class_name == CLASSES[row.class_index]


def test_pca_frame_round_trips(scanned) -> None:
    images = scanned[0]
    fitted = pca(images, 2)
    assert torch.equal(fitted.labels, images.labels)
    _check_points(fitted.to_frame(CLASSES), fitted.coordinates, images.labels)


def test_tsne_frame_names_points_as_pca(scanned) -> None:
    images = scanned[0]
    fitted = pca(images, 2)
    placed = tsne(images, perplexity=5.0, n_iter=100, early_exaggeration_iter=50)
    frame = placed.to_frame(CLASSES)
    assert list(frame.columns) == list(fitted.to_frame(CLASSES).columns)
    _check_points(frame, placed.coordinates, images.labels)


def test_pca_embedding_is_a_deprecated_alias(scanned) -> None:
    fitted = pca(scanned[0], 2)
    with pytest.warns(DeprecationWarning, match=r"PCAResult\.embedding .* use \.coordinates"):
        old = fitted.embedding
    assert old is fitted.coordinates


def test_neighbors_frame_maps_rows_to_images(scanned) -> None:
    images = scanned[0]
    found = nearest(images, [0, 4], k=5, exclude_self=True)
    frame = found.to_frame(source=images, image_names=NAMES)
    assert len(frame) == found.indices.numel()
    for row in frame.itertuples():
        assert row.row == found.indices[row.query, row.rank].item()
        assert row.distance == found.distances[row.query, row.rank].item()
        assert row.query_row == found.query_rows[row.query].item()
        assert row.image_index == images.image_index[row.row].item()
        assert row.query_image_index == images.image_index[row.query_row].item()
        assert row.image_name == NAMES[row.image_index]
    with pytest.raises(TypeError, match="image_index"):
        found.to_frame(source=torch.zeros(3))


def test_image_and_patch_frames_equal_their_tensors(scanned) -> None:
    images, patches = scanned
    frame = images.to_frame(image_names=NAMES, class_names=CLASSES)
    for row in frame.itertuples():
        assert row.image_index == images.image_index[row.row].item()
        assert row.class_index == images.labels[row.row].item()
        assert row.predicted == images.predictions[row.row].item()
        assert row.image_name == NAMES[row.image_index]
        assert row.predicted_name == CLASSES[row.predicted] if row.predicted < 3 else True
    frame = patches.to_frame(image_names=NAMES, class_names=CLASSES)
    assert len(frame) == len(patches) == 40
    for row in frame.itertuples():
        i = row.row
        assert row.image_index == patches.image_index[i].item()
        assert (row.y, row.x) == tuple(patches.positions[i].tolist())
        assert (row.top, row.left, row.bottom, row.right) == tuple(patches.boxes[i].tolist())
        assert row.score == patches.scores[i].item()
        assert row.class_name == CLASSES[patches.labels[i].item()]
