"""Data: sample photos, digits, faces, image folders, preprocessing and its inverse."""

from interpret.data.digits import Digits
from interpret.data.faces import FacesVsNonFaces
from interpret.data.folder import IMAGE_EXTENSIONS, ImageFolderDataset
from interpret.data.imagenet import imagenet_index, imagenet_labels
from interpret.data.preprocess import EFFICIENTNET_LITE0, IMAGENET, Preprocess
from interpret.data.samples import (
    KNOWN_IMAGENET_LABELS,
    PHOTO_NAMES,
    SamplePhotos,
    sample_photos,
)

__all__ = [
    "Digits",
    "EFFICIENTNET_LITE0",
    "FacesVsNonFaces",
    "IMAGE_EXTENSIONS",
    "IMAGENET",
    "ImageFolderDataset",
    "KNOWN_IMAGENET_LABELS",
    "PHOTO_NAMES",
    "Preprocess",
    "SamplePhotos",
    "imagenet_index",
    "imagenet_labels",
    "sample_photos",
]
