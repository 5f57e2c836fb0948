import numpy as np
import pytest
import torch
from PIL import Image

from interpret.data import ImageFolderDataset, Preprocess

PREPROCESS = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=16)


def _png(path, value, size=(20, 24)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, dtype=np.uint8)).save(path)
    return path


def test_folder_labels_sorted_recursive(tmp_path):
    _png(tmp_path / "dog" / "b.png", 255)
    _png(tmp_path / "cat" / "deep" / "a.PNG", 0)
    _png(tmp_path / "cat" / "z.jpg", 128)
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    data = ImageFolderDataset(tmp_path, PREPROCESS, labels="folders")
    assert [p.relative_to(tmp_path).as_posix() for p in data.files] == [
        "cat/deep/a.PNG",
        "cat/z.jpg",
        "dog/b.png",
    ]
    assert data.classes == ("cat", "dog")
    assert data.targets == (0, 0, 1)
    image, label = data[2]
    assert image.shape == (3, 16, 16) and label == 1
    assert torch.allclose(image, torch.ones_like(image))
    assert data[0][0].min() == -1.0
    unlabeled = ImageFolderDataset(tmp_path, PREPROCESS)
    assert unlabeled.targets == (-1, -1, -1) and unlabeled.classes == ()


def test_list_of_files_keeps_order(tmp_path):
    a, b = _png(tmp_path / "x" / "a.png", 10), _png(tmp_path / "y" / "b.png", 20)
    data = ImageFolderDataset([b, a], PREPROCESS, labels="folders")
    assert data.files == (b, a) and data.classes == ("x", "y") and data.targets == (1, 0)
    gray = ImageFolderDataset([a], Preprocess(mean=(0.0,), std=(1.0,)))
    assert gray[0][0].shape == (1, 20, 24)


def test_unreadable_image_names_the_file(tmp_path):
    _png(tmp_path / "good.png", 50)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a png")
    data = ImageFolderDataset(tmp_path, PREPROCESS)
    with pytest.raises(ValueError, match="bad.png"):
        data[0]
    assert data[1][0].shape == (3, 16, 16)


def test_empty_and_missing(tmp_path):
    with pytest.raises(ValueError, match="No images"):
        ImageFolderDataset(tmp_path, PREPROCESS)
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="No images"):
        ImageFolderDataset(tmp_path, PREPROCESS)
    with pytest.raises(ValueError, match="not a folder"):
        ImageFolderDataset(tmp_path / "nowhere", PREPROCESS)
    with pytest.raises(ValueError, match="missing.png"):
        ImageFolderDataset([tmp_path / "missing.png"], PREPROCESS)
    with pytest.raises(ValueError, match="empty"):
        ImageFolderDataset([], PREPROCESS)


def test_folders_labels_need_class_subfolders(tmp_path):
    _png(tmp_path / "loose.png", 1)
    with pytest.raises(ValueError, match="class subfolder"):
        ImageFolderDataset(tmp_path, PREPROCESS, labels="folders")
