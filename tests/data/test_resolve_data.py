"""resolve_data on folders of real photo crops: labels, sampling, bad files, laziness."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from photo_crops import crops, write_class_folders
from PIL import Image

from interpret.data import Digits, LabelledImages, Preprocess, resolve_data, stratified_order

PREPROCESS = Preprocess(mean=(0.5,) * 3, std=(0.5,) * 3, size=32)
COUNTS = {"astronaut": 2, "chelsea": 6, "coffee": 4}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_class_folders(tmp_path / "photos", COUNTS)


def test_class_folders_label_every_image(folder: Path) -> None:
    source = resolve_data(str(folder), PREPROCESS)
    assert source.class_names == ("astronaut", "chelsea", "coffee")
    assert len(source.dataset) == 12 and source.skipped == () and source.attributes is None
    assert source.item_names[:3] == ("astronaut/0.png", "astronaut/1.png", "chelsea/0.png")
    assert source.targets == (0,) * 2 + (1,) * 6 + (2,) * 4
    assert source.dataset.targets == source.targets
    for index in (0, 5, 11):
        image, label = source.dataset[index]
        assert label == source.targets[index]
        file = folder / source.item_names[index]
        expected = PREPROCESS(np.asarray(Image.open(file).convert("RGB")))
        assert torch.equal(image, expected)


def test_images_are_read_when_asked_not_at_resolve_time(folder: Path) -> None:
    source = resolve_data(str(folder), PREPROCESS)
    assert isinstance(source.dataset, LabelledImages)
    assert not any(isinstance(v, torch.Tensor) for v in vars(source.dataset).values())
    file = folder / source.item_names[0]
    before = source.dataset[0][0]
    Image.fromarray(np.full((40, 40, 3), 255, np.uint8)).save(file)  # changed after resolving
    after = source.dataset[0][0]
    assert not torch.equal(before, after) and torch.allclose(after, torch.ones_like(after))


def test_one_class_folder_is_one_class(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path / "only", {"chelsea": 3})
    source = resolve_data(str(root), PREPROCESS)
    assert source.class_names == ("chelsea",) and source.targets == (0, 0, 0)


def test_flat_folder_is_unlabelled_and_refuses_folders_labels(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    root.mkdir()
    for i, tile in enumerate(crops("coffee", 3)):
        Image.fromarray(tile).save(root / f"{i}.png")
    source = resolve_data(str(root), PREPROCESS)
    assert source.class_names is None and source.targets == (-1, -1, -1)
    assert source.dataset[1][1] == -1
    with pytest.raises(ValueError, match="directly in"):
        resolve_data(str(root), PREPROCESS, labels="folders")


def test_labels_none_drops_class_folders(folder: Path) -> None:
    source = resolve_data(str(folder), PREPROCESS, labels="none")
    assert source.class_names is None and set(source.targets) == {-1}
    with pytest.raises(ValueError, match="labels is one of"):
        resolve_data(str(folder), PREPROCESS, labels="csv")


def test_unreadable_image_is_named_or_skipped(folder: Path) -> None:
    broken = folder / "chelsea" / "broken.png"
    broken.write_bytes(b"this is not a png")
    good = folder / "coffee" / "0.png"
    truncated = folder / "coffee" / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ValueError, match=r"Cannot read image .*broken\.png.*skip_bad_images"):
        resolve_data(str(folder), PREPROCESS)
    source = resolve_data(str(folder), PREPROCESS, skip_bad_images=True)
    assert source.skipped == (str(broken), str(truncated))
    assert len(source.dataset) == 12 and "chelsea/broken.png" not in source.item_names
    assert source.targets.count(1) == 6


def test_max_images_is_stratified_and_deterministic(folder: Path) -> None:
    first = resolve_data(str(folder), PREPROCESS, max_images=7)
    again = resolve_data(str(folder), PREPROCESS, max_images=7)
    assert first.item_names == again.item_names and first.key == again.key
    counts = Counter(first.targets)
    assert counts == {0: 2, 1: 3, 2: 2}  # round-robin: astronaut runs out after two
    assert list(first.item_names) == sorted(first.item_names)  # dataset order kept
    for name, target in zip(first.item_names, first.targets):
        assert name.split("/")[0] == first.class_names[target]
    assert first.dataset[3][1] == first.targets[3]
    six = resolve_data(str(folder), PREPROCESS, max_images=6)
    assert Counter(six.targets) == {0: 2, 1: 2, 2: 2}
    other = [resolve_data(str(folder), PREPROCESS, max_images=6, seed=s) for s in (1, 2, 3)]
    assert len({o.item_names for o in other + [six]}) > 1  # the seed picks the images
    assert six.key != first.key


def test_max_images_tops_up_past_unreadable_files(folder: Path) -> None:
    order = stratified_order(resolve_data(str(folder), PREPROCESS).targets, seed=0)
    first_pick = resolve_data(str(folder), PREPROCESS).item_names[order[0]]
    (folder / first_pick).write_bytes(b"broken")
    source = resolve_data(str(folder), PREPROCESS, max_images=6, skip_bad_images=True)
    assert source.skipped == (str(folder / first_pick),)
    # astronaut has one readable crop left; the next in the round-robin fill its place
    assert len(source.dataset) == 6 and Counter(source.targets) == {0: 1, 1: 3, 2: 2}


def test_max_images_on_bundled_digits() -> None:
    source = resolve_data("digits", Preprocess(mean=(0.5,), std=(0.5,), size=32), max_images=30)
    assert len(source.dataset) == 30 and Counter(source.targets) == {d: 3 for d in range(10)}
    assert source.dataset.targets == source.targets
    full = Digits(split="test", size=32)
    index = source.dataset.indices[4]
    assert source.item_names[4] == f"digit {int(full.targets[index])} #{index}"
    assert torch.equal(source.dataset[4][0], full[index][0])


def test_stratified_order_balances_every_prefix() -> None:
    targets = [0] * 50 + [1] * 30 + [2] * 5 + [-1] * 10
    order = stratified_order(targets, seed=3)
    assert sorted(order) == list(range(len(targets)))
    for n in (4, 12, 20):
        counts = Counter(targets[i] for i in order[:n])
        assert max(counts.values()) - min(counts.values()) <= 1 and len(counts) == 4
    assert order == stratified_order(targets, seed=3) != stratified_order(targets, seed=4)


def test_missing_folder_and_bad_options(tmp_path: Path, folder: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No such folder or file"):
        resolve_data(str(tmp_path / "nowhere"), PREPROCESS)
    with pytest.raises(ValueError, match="max_images"):
        resolve_data(str(folder), PREPROCESS, max_images=0)
    with pytest.raises(ValueError, match="one folder or a list"):
        resolve_data([str(folder), str(folder / "chelsea" / "0.png")], PREPROCESS)
