import numpy as np
import pytest
import torch
from PIL import Image

from interpret.data import EFFICIENTNET_LITE0, IMAGENET, Preprocess

RNG = np.random.default_rng(0)


def test_inverse_undoes_normalization_of_uint8_numpy():
    image = RNG.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    x = IMAGENET.normalize(IMAGENET.to_unit_tensor(image))
    expected = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)
    assert torch.allclose(IMAGENET.inverse(x), expected, atol=1e-6)


@pytest.mark.parametrize("shape", [(3, 17, 9), (4, 3, 17, 9)])
def test_inverse_of_call_is_identity_without_geometry(shape):
    p = Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    y = p(x)
    assert y.shape == x.shape and y.dtype == torch.float32
    assert torch.allclose(p.inverse(y), x, atol=1e-6)


def test_normalization_is_the_literal_formula():
    x = torch.rand(3, 5, 5, generator=torch.Generator().manual_seed(2))
    y = IMAGENET.normalize(x)
    for c, (m, s) in enumerate(zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))):
        assert torch.allclose(y[c], (x[c] - m) / s)


def test_efficientnet_scaling_maps_0_255_to_minus_one_one():
    image = np.zeros((300, 400, 3), dtype=np.uint8)
    image[:, 200:] = 255
    x = EFFICIENTNET_LITE0(image)
    assert x.shape == (3, 224, 224)
    assert x.min() == -1.0 and x.max() == 1.0


def test_resize_shorter_side_then_center_crop():
    p = Preprocess(size=(8, 6), resize=10)
    # a 20x40 image: shorter side 20 -> 10, so 10x20, then the center 8x6
    image = np.zeros((20, 40, 3), dtype=np.uint8)
    image[:, 18:22] = 255  # a bright center column survives the crop
    x = p(image)
    assert x.shape == (3, 8, 6)
    assert x[:, :, 2:4].mean() > 0.5 and x[:, :, 0].max() == 0


def test_direct_resize_and_pil_and_gray_input():
    p = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=16)
    gray = RNG.integers(0, 256, size=(32, 48), dtype=np.uint8)
    from_numpy = p(gray)
    from_pil = p(Image.fromarray(gray))
    assert from_numpy.shape == (3, 16, 16)
    assert torch.equal(from_numpy[0], from_numpy[2])
    assert torch.allclose(from_numpy, from_pil, atol=1e-6)


def test_batches_of_numpy_and_tensor_agree():
    p = Preprocess(size=12)
    batch = RNG.random((2, 20, 20, 3)).astype(np.float32)
    a = p(batch)
    b = p(torch.from_numpy(batch).permute(0, 3, 1, 2))
    assert a.shape == (2, 3, 12, 12)
    assert torch.allclose(a, b)


def test_to_image_is_channel_last_in_unit_range():
    p = Preprocess(mean=(0.5,), std=(0.5,))
    x = torch.tensor([[[-3.0, 0.0], [1.0, 3.0]]])  # (1, 2, 2), partly out of range
    image = p.to_image(x)
    assert image.shape == (2, 2, 3) and image.dtype == np.float32
    assert image.min() == 0.0 and image.max() == 1.0
    assert image[0, 1, 0] == pytest.approx(0.5)
    assert p.inverse(x).min() == -1.0  # inverse does not clamp unless asked
    assert p.inverse(x, clamp=True).min() == 0.0
    assert p.to_image(torch.zeros(4, 1, 2, 2)).shape == (4, 2, 2, 3)


def test_errors_say_what_to_do():
    with pytest.raises(ValueError, match="same length"):
        Preprocess(mean=(0.5,), std=(0.5, 0.5))
    with pytest.raises(ValueError, match="positive"):
        Preprocess(mean=(0.5,), std=(0.0,))
    with pytest.raises(ValueError, match="interpolation"):
        Preprocess(interpolation="lanczos")
    with pytest.raises(ValueError, match="4 channels"):
        IMAGENET(np.zeros((8, 8, 4), dtype=np.uint8))
    with pytest.raises(TypeError, match="int32"):
        IMAGENET(np.zeros((8, 8, 3), dtype=np.int32))
    with pytest.raises(TypeError, match="list"):
        IMAGENET([[0, 1]])
