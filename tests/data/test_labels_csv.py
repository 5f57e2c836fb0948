"""Labels from a CSV (path,label[,attributes]) and from a user's Dataset factory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from photo_crops import write_class_folders
from PIL import Image

from interpret.data import Preprocess, read_labels_csv, resolve_data

PREPROCESS = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=32)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_class_folders(tmp_path / "photos", {"chelsea": 3, "coffee": 2, "rocket": 2})


def _csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_labels_and_attributes(photos: Path, tmp_path: Path) -> None:
    absolute = photos / "rocket" / "1.png"
    labels = _csv(
        photos / "labels.csv",
        "path,label,furry,brightness\n"
        "chelsea/0.png,cat,1,0.25\n"
        "coffee/0.png,drink,0,0.5\n"
        "chelsea/2.png,cat,1,-1\n"
        f"{absolute},launch,0,3\n"
        "coffee/1.png,,0,0\n",
    )
    source = resolve_data(str(labels), PREPROCESS)
    assert source.class_names == ("cat", "drink", "launch")
    assert source.targets == (0, 1, 0, 2, -1)
    assert source.attributes == ("furry", "brightness")
    assert source.item_names[:2] == ("chelsea/0.png", "coffee/0.png")
    data = source.dataset
    assert data.attribute_names == ("furry", "brightness")
    assert data.attributes.dtype == torch.float32
    assert data.attributes.tolist() == [[1, 0.25], [0, 0.5], [1, -1], [0, 3], [0, 0]]
    image, label = data[3]
    assert label == 2
    assert torch.equal(image, PREPROCESS(np.asarray(Image.open(absolute).convert("RGB"))))


def test_csv_attributes_follow_a_stratified_sample(photos: Path) -> None:
    rows = [f"chelsea/{i}.png,cat,{i}" for i in range(3)]
    rows += [f"coffee/{i}.png,drink,{10 + i}" for i in range(2)]
    labels = _csv(photos / "labels.csv", "path,label,score\n" + "\n".join(rows) + "\n")
    source = resolve_data(str(labels), PREPROCESS, max_images=4)
    assert sorted(source.targets) == [0, 0, 1, 1]
    scores = source.dataset.attributes[:, 0].tolist()
    for name, score in zip(source.item_names, scores):
        folder, index = name.split("/")[0], int(name.split("/")[1][0])
        assert score == (index if folder == "chelsea" else 10 + index)


def test_integer_labels_name_classes_by_index(photos: Path) -> None:
    labels = _csv(
        photos / "labels.csv", "label,path\n2,chelsea/0.png\n0,coffee/0.png\n2.0,rocket/0.png\n"
    )
    source = resolve_data(str(labels), PREPROCESS)
    assert source.targets == (2, 0, 2) and source.class_names == ("0", "1", "2")
    assert source.attributes is None


def test_fractional_labels_are_refused(photos: Path) -> None:
    labels = _csv(photos / "labels.csv", "path,label\nchelsea/0.png,1\ncoffee/0.png,0.6\n")
    with pytest.raises(ValueError, match=r"line 3 .*0\.6.*not an integer"):
        resolve_data(str(labels), PREPROCESS)
    labels.write_text("path,label\nchelsea/0.png,-2\n")
    with pytest.raises(ValueError, match="start at 0"):
        read_labels_csv(labels)


def test_missing_files_give_one_error_naming_the_first(photos: Path) -> None:
    rows = ["chelsea/0.png,cat"] + [f"gone/{i}.png,cat" for i in range(7)]
    labels = _csv(photos / "labels.csv", "path,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError) as error:
        resolve_data(str(labels), PREPROCESS)
    message = str(error.value)
    assert "7 of the 8 images named in" in message
    assert all(f"gone/{i}.png" in message for i in range(5))
    assert "gone/5.png" not in message and ", ..." in message
    assert str(photos) in message  # where relative paths are read from


def test_malformed_csv_files(photos: Path) -> None:
    cases = {
        "path,class\nchelsea/0.png,cat\n": "path,label",
        "path,label,smiling\nchelsea/0.png,cat,yes\n": "Attribute 'smiling' on line 2",
        "path,label\nchelsea/0.png,cat,extra\n": "Line 2 .* 3 fields",
        "path,label\n": "only a header",
    }
    for text, message in cases.items():
        labels = _csv(photos / "labels.csv", text)
        with pytest.raises(ValueError, match=message):
            resolve_data(str(labels), PREPROCESS)


def test_csv_with_an_unreadable_image(photos: Path) -> None:
    (photos / "chelsea" / "bad.png").write_bytes(b"\x89PNG but not really")
    labels = _csv(photos / "labels.csv", "path,label\nchelsea/bad.png,cat\ncoffee/0.png,drink\n")
    with pytest.raises(ValueError, match=r"Cannot read image .*bad\.png"):
        resolve_data(str(labels), PREPROCESS)
    source = resolve_data(str(labels), PREPROCESS, skip_bad_images=True)
    assert source.item_names == ("coffee/0.png",) and source.targets == (1,)
    assert source.skipped == (str(photos / "chelsea" / "bad.png"),)
    assert source.class_names == ("cat", "drink")  # the class stays named


@pytest.fixture
def user_datasets(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


def test_factory_dataset_with_classes_and_targets(user_datasets) -> None:
    source = resolve_data("user_datasets:photo_crops", PREPROCESS)
    assert source.class_names == ("cat", "coffee", "rocket")
    assert source.targets == (0,) * 4 + (1,) * 4 + (2,) * 4
    assert source.item_names[4] == "coffee #4"
    image, label = source.dataset[5]
    import user_datasets as module

    raw = module.PhotoCrops()
    assert label == 1 and torch.equal(image, PREPROCESS(raw.images[5]))
    sample = resolve_data("user_datasets:photo_crops", PREPROCESS, max_images=6)
    assert sorted(sample.targets) == [0, 0, 1, 1, 2, 2]
    assert sample.dataset[0][1] == sample.targets[0]


def test_factory_dataset_of_prepared_tensors(user_datasets) -> None:
    import user_datasets as module

    source = resolve_data("user_datasets:prepared", PREPROCESS)
    assert module.prepared.given is PREPROCESS  # the factory was offered the preprocess
    assert source.class_names is None and source.targets == (0, 1, 1, 0, 2, 2)
    assert source.item_names[0] == "item 0"
    assert torch.equal(source.dataset[2][0], module.Prepared([0, 1, 1]).images[2])


def test_factory_dataset_errors(user_datasets) -> None:
    with pytest.raises(ValueError, match=r"0\.6.*not an integer"):
        resolve_data("user_datasets:fractional_labels", PREPROCESS)
    with pytest.raises(TypeError, match="map-style Dataset"):
        resolve_data("user_datasets:not_a_dataset", PREPROCESS)
    with pytest.raises(ValueError, match="no attribute"):
        resolve_data("user_datasets:nothing", PREPROCESS)
    with pytest.raises(ValueError, match="Cannot import"):
        resolve_data("no_such_package.data:make", PREPROCESS)
