import numpy as np
import pytest
import torch

from interpret.data import (
    EFFICIENTNET_LITE0,
    PHOTO_NAMES,
    Preprocess,
    SamplePhotos,
    imagenet_index,
    imagenet_labels,
    sample_photos,
)


def test_every_photo_loads_offline_as_rgb_uint8():
    photos = sample_photos()
    assert [name for name, _ in photos] == list(PHOTO_NAMES)
    assert {"chelsea", "coffee", "astronaut", "rocket", "china", "flower"} <= set(PHOTO_NAMES)
    for name, image in photos:
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, name
    left, right = dict(photos)["motorcycle_left"], dict(photos)["motorcycle_right"]
    assert left.shape == right.shape and not np.array_equal(left, right)


def test_unknown_photo_lists_the_available_ones():
    with pytest.raises(ValueError, match="chelsea"):
        sample_photos(["eagle"])


def test_dataset_labels_and_shapes():
    data = SamplePhotos(EFFICIENTNET_LITE0, names=["chelsea", "coffee", "rocket"])
    assert data.names == ("chelsea", "coffee", "rocket")
    assert len(data) == 3
    image, label = data[1]
    assert image.shape == (3, 224, 224) and image.dtype == torch.float32
    assert imagenet_labels()[label] == "espresso"
    assert data.labels[2] == -1 and data.accepted_labels[2] == frozenset()
    cats = {imagenet_index(n) for n in ("tabby", "tiger cat", "Egyptian cat")}
    assert data.accepted_labels[0] == cats and data.labels[0] in cats
    assert data.stack().shape == (3, 3, 224, 224)


def test_stack_needs_a_fixed_size():
    data = SamplePhotos(Preprocess(), names=["chelsea", "coffee"])
    assert data[0][0].shape == (3, 300, 451)
    with pytest.raises(ValueError, match="size="):
        data.stack()


def test_imagenet_labels_and_index():
    labels = imagenet_labels()
    assert len(labels) == 1000 and labels[0] == "tench"
    with pytest.raises(ValueError, match="espresso"):
        imagenet_index("expresso")
