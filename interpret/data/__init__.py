"""Data: sample photos, digits, faces, image folders, labelled images (class folders, a
labels CSV, a user's Dataset), preprocessing and its inverse, and :func:`resolve_data`."""

from interpret.data.digits import Digits
from interpret.data.faces import FacesVsNonFaces
from interpret.data.folder import IMAGE_EXTENSIONS, ImageFolderDataset
from interpret.data.imagenet import imagenet_index, imagenet_labels
from interpret.data.labelled import (
    LabelledImages,
    LabelledSubset,
    read_labels_csv,
    stratified_order,
)
from interpret.data.preprocess import EFFICIENTNET_LITE0, IMAGENET, Preprocess
from interpret.data.resolve import DATA_NAMES, DataSource, resolve_data
from interpret.data.samples import (
    KNOWN_IMAGENET_LABELS,
    PHOTO_NAMES,
    SamplePhotos,
    SampleViews,
    sample_photos,
)

__all__ = [
    "DATA_NAMES",
    "DataSource",
    "Digits",
    "EFFICIENTNET_LITE0",
    "FacesVsNonFaces",
    "IMAGE_EXTENSIONS",
    "IMAGENET",
    "ImageFolderDataset",
    "KNOWN_IMAGENET_LABELS",
    "LabelledImages",
    "LabelledSubset",
    "PHOTO_NAMES",
    "Preprocess",
    "SamplePhotos",
    "SampleViews",
    "imagenet_index",
    "imagenet_labels",
    "read_labels_csv",
    "resolve_data",
    "sample_photos",
    "stratified_order",
]
