import pytest
import torch

from interpret.data import IMAGENET, FacesVsNonFaces, Preprocess


def test_first_hundred_are_faces():
    data = FacesVsNonFaces(size=32)
    assert len(data) == 200
    assert data.targets[:100].eq(1).all() and data.targets[100:].eq(0).all()
    image, label = data[0]
    assert image.shape == (3, 32, 32) and label == 1
    assert torch.equal(image[0], image[1])  # gray replicated
    assert data.images_raw.shape == (200, 25, 25)
    assert data.classes[label] == "face"


def test_preprocess_geometry_and_split():
    test = FacesVsNonFaces(IMAGENET, split="test")
    assert test.images.shape == (50, 3, 224, 224)
    assert int(test.targets.sum()) == 25
    gray = FacesVsNonFaces(Preprocess(mean=(0.5,), std=(0.5,)), split="train")
    assert gray.images.shape == (150, 1, 25, 25)


def test_bad_arguments():
    with pytest.raises(TypeError, match="Preprocess"):
        FacesVsNonFaces(preprocess="imagenet")
    with pytest.raises(ValueError, match="size"):
        FacesVsNonFaces(size=0)
