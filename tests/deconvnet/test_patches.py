"""Windows around units: cropping with padding, receptive fields, projection support."""

from __future__ import annotations

import pytest
import torch

from interpret.deconvnet import crop_windows, receptive_windows, support_windows
from interpret.testing import chain_cnn


def test_crop_pads_outside_the_image():
    images = torch.arange(2 * 1 * 4 * 5, dtype=torch.float32).reshape(2, 1, 4, 5) + 1
    windows = torch.tensor([[-1, -2, 2, 1], [2, 3, 5, 6]])
    crops, inside = crop_windows(images, windows)
    assert crops.shape == (2, 1, 3, 3) and inside.shape == (2, 3, 3)
    expected0 = torch.zeros(3, 3)
    expected0[1:, 2:] = images[0, 0, 0:2, 0:1]
    assert torch.equal(crops[0, 0], expected0)
    assert inside[0].tolist() == [[False] * 3, [False, False, True], [False, False, True]]
    assert torch.equal(crops[1, 0, :2, :2], images[1, 0, 2:4, 3:5])
    assert inside[1].sum() == 4 and (crops[1, 0][~inside[1]] == 0).all()


def test_crop_bad_windows():
    with pytest.raises(ValueError, match="same size"):
        crop_windows(torch.zeros(2, 1, 4, 4), torch.tensor([[0, 0, 2, 2], [0, 0, 3, 3]]))
    with pytest.raises(ValueError, match="One window per image"):
        crop_windows(torch.zeros(2, 1, 4, 4), torch.tensor([[0, 0, 2, 2]]))


def test_receptive_windows_follow_the_stride():
    net = chain_cnn()
    windows = receptive_windows(net, "features.4", torch.tensor([0, 1, 2]), torch.tensor([0, 0, 3]))
    # conv3 pad1 -> pool 3/2 -> conv3 pad1: size 9, stride 2, offset -1 - 2 = -3
    assert windows.tolist() == [[-3, -3, 6, 6], [-1, -3, 8, 6], [1, 3, 10, 12]]


def test_support_windows_cover_each_support_with_one_size():
    proj = torch.zeros(3, 2, 10, 12)
    proj[0, 1, 2:5, 3:4] = 1.0  # 3 x 1 box
    proj[1, 0, 6, 1:6] = -2.0  # 1 x 5 box
    windows = support_windows(proj)  # third projection is empty: centred on the image
    assert (windows[:, 2] - windows[:, 0]).tolist() == [3, 3, 3]
    assert (windows[:, 3] - windows[:, 1]).tolist() == [5, 5, 5]
    assert windows[0].tolist() == [2, 1, 5, 6]
    assert windows[1].tolist() == [5, 1, 8, 6]
    assert windows[2].tolist() == [3, 3, 6, 8]
    # a faint floor everywhere: mass=1 takes the whole image, mass<1 the bright box
    floor = proj[:1] + 0.001
    assert support_windows(floor)[0].tolist() == [0, 0, 10, 12]
    assert support_windows(floor, mass=0.9)[0].tolist() == [2, 3, 5, 4]
    with pytest.raises(ValueError, match="mass"):
        support_windows(proj, mass=0.0)
