import numpy as np
import pytest
import torch

from interpret.data import Digits


def test_splits_are_disjoint_stratified_and_deterministic():
    everything = Digits(size=8)
    train, test = Digits(size=8, split="train"), Digits(size=8, split="test")
    assert len(everything) == 1797
    assert len(train) + len(test) == 1797
    assert not set(train.indices) & set(test.indices)
    counts = np.bincount(test.targets.numpy(), minlength=10)
    assert counts.min() >= 43 and counts.max() <= 46  # 25 % of ~180 per class
    again = Digits(size=8, split="test")
    assert torch.equal(again.images, test.images)
    other = Digits(size=8, split="test", seed=1)
    assert not np.array_equal(other.indices, test.indices)


def test_upsampled_normalized_images_and_raw_copies():
    data = Digits(size=32, split="test", channels=3)
    image, label = data[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert isinstance(label, int) and 0 <= label <= 9
    assert data.images.min() >= -1.0 and data.images.max() <= 1.0
    assert torch.equal(image[0], image[2])
    assert data.images_raw.shape == (len(data), 8, 8)
    assert data.images_raw.max() <= 1.0
    assert data.preprocess.to_image(image).shape == (32, 32, 3)
    # at size 8 the tensor is exactly the raw digit on the [-1, 1] scale
    small = Digits(size=8, split="test")
    assert torch.allclose(small.images[:, 0], torch.from_numpy(small.images_raw) * 2 - 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        Digits(split="validation")
    with pytest.raises(ValueError, match="channels"):
        Digits(channels=2)
    with pytest.raises(ValueError, match="test_fraction"):
        Digits(split="train", test_fraction=1.5)
