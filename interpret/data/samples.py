"""Real photographs that ship with scikit-image and scikit-learn (no download).

Names available offline: ``astronaut``, ``chelsea``, ``coffee``, ``rocket``,
``motorcycle_left``, ``motorcycle_right`` (the Middlebury stereo pair),
``hubble_deep_field``, ``immunohistochemistry``, ``retina`` (all ``skimage.data``) and
``china``, ``flower`` (``sklearn.datasets.load_sample_images``). All are RGB ``uint8``.
Other ``skimage.data`` images (``eagle``, ``lily``, ...) need a download through pooch and
are deliberately not offered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from interpret.data.imagenet import imagenet_index
from interpret.data.preprocess import Preprocess

__all__ = [
    "KNOWN_IMAGENET_LABELS",
    "OBJECT_BOXES",
    "PHOTO_NAMES",
    "ObjectBox",
    "SamplePhotos",
    "SampleViews",
    "object_box",
    "sample_photos",
]


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _motorcycle(side: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return skimage.data.stereo_motorcycle()[side]

    return load


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(filename)

    return load


_LOADERS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "motorcycle_left": _motorcycle(0),
    "motorcycle_right": _motorcycle(1),
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
    "retina": _skimage("retina"),
    "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"),
}

PHOTO_NAMES: tuple[str, ...] = tuple(_LOADERS)
"""Every photo :func:`sample_photos` can return, in its default order."""

KNOWN_IMAGENET_LABELS: dict[str, tuple[str, ...]] = {
    "chelsea": ("tiger cat", "tabby", "Egyptian cat"),
    "coffee": ("espresso",),
}
"""ImageNet classes a correct classifier may give a photo; the first is its label.

Chelsea is a tabby cat; ImageNet's ``tiger cat``, ``tabby`` and ``Egyptian cat`` are
notoriously confusable, so any of the three counts as right.
"""


@dataclass(frozen=True)
class ObjectBox:
    """Where the labelled object lies in a sample photo, in the photo's own pixels.

    ``top``/``left`` are the first rows/columns of the object, ``bottom``/``right`` one
    past the last (so ``image[top:bottom, left:right]`` is the box), as
    :meth:`interpret.occlusion.OcclusionResult.boxes` spells occluder positions. ``label``
    is the ImageNet class the box stands for; ``what`` says what the box encloses.
    """

    label: str
    top: int
    left: int
    bottom: int
    right: int
    what: str

    def __post_init__(self) -> None:
        if not (0 <= self.top < self.bottom and 0 <= self.left < self.right):
            raise ValueError(f"An empty or negative box: {self}.")


OBJECT_BOXES: dict[str, ObjectBox] = {
    "coffee": ObjectBox("espresso", 17, 173, 306, 410, "the cup of espresso with its handle"),
    "rocket": ObjectBox("missile", 126, 303, 408, 338, "the rocket on its pad, nose to base"),
}
"""Bounding boxes of the object in photos where it does not fill the frame.

Measured by eye on the photos as ``sample_photos`` returns them (coffee 400 x 600: the
cup, rim to the foot of the handle, not the saucer or spoon; rocket 427 x 640: the
launcher from its nose cone to the pad, not the towers). The occlusion section of the
default report draws them and compares the class probability where the occluder
covers the box with that elsewhere. :func:`object_box` maps a box into a model's input.
"""


def object_box(
    name: str, preprocess: Preprocess | None = None
) -> tuple[float, float, float, float]:
    """The object box of photo ``name`` as ``(top, left, bottom, right)`` pixels of the
    model input that ``preprocess`` makes of the photo (its resize and center crop).

    Without ``preprocess``, the photo's own pixels. Parts of the box outside the crop
    are cut off at the crop's edges.

    Examples
    --------
    >>> from interpret.data.preprocess import EFFICIENTNET_LITE0
    >>> [round(v, 1) for v in object_box("coffee", EFFICIENTNET_LITE0)]
    [0.0, 30.7, 179.8, 182.4]
    """
    if name not in OBJECT_BOXES:
        raise ValueError(
            f"No object box is stored for {name!r}; photos with one: {', '.join(OBJECT_BOXES)}."
        )
    box = OBJECT_BOXES[name]
    top, left, bottom, right = (float(v) for v in (box.top, box.left, box.bottom, box.right))
    if preprocess is None or (preprocess.size is None and preprocess.resize is None):
        return top, left, bottom, right
    h, w = _LOADERS[name]().shape[:2]
    if preprocess.resize is not None:
        # torchvision's resize of the shorter side: the longer one is truncated to an int.
        short, long = (h, w) if h <= w else (w, h)
        new_long = int(preprocess.resize * long / short)
        nh, nw = (preprocess.resize, new_long) if h <= w else (new_long, preprocess.resize)
    else:
        nh, nw = _size_pair(preprocess.size)
    sy, sx = nh / h, nw / w
    top, bottom, left, right = top * sy, bottom * sy, left * sx, right * sx
    if preprocess.resize is not None and preprocess.size is not None:
        ch, cw = _size_pair(preprocess.size)
        dy, dx = int(round((nh - ch) / 2.0)), int(round((nw - cw) / 2.0))  # center_crop's
        top, bottom = min(max(top - dy, 0.0), ch), min(max(bottom - dy, 0.0), ch)
        left, right = min(max(left - dx, 0.0), cw), min(max(right - dx, 0.0), cw)
    return top, left, bottom, right


def _size_pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _check_names(names: Sequence[str] | None) -> tuple[str, ...]:
    if names is None:
        return PHOTO_NAMES
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in _LOADERS]
    if unknown:
        raise ValueError(
            f"Unknown sample photo(s) {unknown}; available offline: {', '.join(PHOTO_NAMES)}."
        )
    if not names:
        raise ValueError("names is empty; pass None for all photos or at least one name.")
    return tuple(names)


def sample_photos(names: Sequence[str] | None = None) -> list[tuple[str, np.ndarray]]:
    """Real RGB photos as ``(name, image)`` pairs, image ``(H, W, 3)`` ``uint8``.

    Parameters
    ----------
    names:
        Which photos (see :data:`PHOTO_NAMES`); ``None`` for all, in that order.

    Examples
    --------
    >>> [(n, im.shape) for n, im in sample_photos(["chelsea", "coffee"])]
    [('chelsea', (300, 451, 3)), ('coffee', (400, 600, 3))]
    """
    return [(name, np.ascontiguousarray(_LOADERS[name]())) for name in _check_names(names)]


class SamplePhotos(Dataset[tuple[Tensor, int]]):
    """The sample photos as a dataset of ``(image_tensor, label)`` pairs.

    Parameters
    ----------
    preprocess:
        Turns each photo into the model's input. Give it a ``size`` so that all
        tensors have one shape and batch together; without one they keep the photos'
        own sizes.
    names:
        Which photos (see :data:`PHOTO_NAMES`); ``None`` for all.

    Attributes
    ----------
    names:
        The photo names, in dataset order.
    labels:
        The ImageNet index of each photo's first known class
        (:data:`KNOWN_IMAGENET_LABELS`), ``-1`` where none is known.
    accepted_labels:
        Per photo, the set of ImageNet indices a correct classifier may give.

    Examples
    --------
    >>> from interpret.data.preprocess import EFFICIENTNET_LITE0
    >>> data = SamplePhotos(EFFICIENTNET_LITE0, names=["coffee", "rocket"])
    >>> image, label = data[0]
    >>> tuple(image.shape), label, data.labels[1]
    ((3, 224, 224), 967, -1)
    """

    def __init__(self, preprocess: Preprocess, names: Sequence[str] | None = None) -> None:
        if not isinstance(preprocess, Preprocess):
            raise TypeError(f"preprocess must be a Preprocess, not {type(preprocess).__name__}.")
        self.preprocess = preprocess
        photos = sample_photos(names)
        self.names: tuple[str, ...] = tuple(name for name, _ in photos)
        self.images_raw: tuple[np.ndarray, ...] = tuple(image for _, image in photos)
        self.accepted_labels: tuple[frozenset[int], ...] = tuple(
            frozenset(imagenet_index(c) for c in KNOWN_IMAGENET_LABELS.get(name, ()))
            for name in self.names
        )
        self.labels: tuple[int, ...] = tuple(
            imagenet_index(KNOWN_IMAGENET_LABELS[name][0]) if name in KNOWN_IMAGENET_LABELS else -1
            for name in self.names
        )
        self._tensors = [preprocess(image) for image in self.images_raw]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self._tensors[index].clone(), self.labels[index]

    def stack(self) -> Tensor:
        """All photos as one batch ``(N, C, H, W)``; needs a ``preprocess`` with a size."""
        shapes = {tuple(t.shape) for t in self._tensors}
        if len(shapes) > 1:
            raise ValueError(
                "The photos have different sizes; use a Preprocess with size= to stack them."
            )
        return torch.stack(self._tensors)


class SampleViews(Dataset[tuple[Tensor, int]]):
    """The sample photos, each whole and as four corner crops (``crop`` of each side).

    More views give the top-k searches and the embeddings more to choose from while the
    data stays bundled. Items are ``(image, label)`` with the photo's ImageNet label
    (``-1`` when unknown); :attr:`names` reads ``"chelsea"``, ``"chelsea (top left)"``.

    Attributes
    ----------
    images:
        ``(N, C, H, W)`` preprocessed views (``preprocess`` needs a fixed size).
    names, labels:
        One per view; :attr:`targets` is :attr:`labels`.
    """

    CORNERS = ("top left", "top right", "bottom left", "bottom right")

    def __init__(self, preprocess: Preprocess, crop: float = 0.6, corners: bool = True) -> None:
        photos = SamplePhotos(preprocess)
        images, names, labels = [], [], []
        for raw, name, label in zip(photos.images_raw, photos.names, photos.labels):
            images.append(preprocess(raw))
            names.append(name)
            labels.append(label)
            if not corners:
                continue
            h, w = raw.shape[:2]
            ch, cw = round(h * crop), round(w * crop)
            for where in self.CORNERS:
                top = 0 if where.startswith("top") else h - ch
                left = 0 if where.endswith("left") else w - cw
                images.append(preprocess(raw[top : top + ch, left : left + cw]))
                names.append(f"{name} ({where})")
                labels.append(label)
        self.images = torch.stack(images)
        self.names: tuple[str, ...] = tuple(names)
        self.labels: tuple[int, ...] = tuple(labels)
        self.preprocess = preprocess

    @property
    def targets(self) -> tuple[int, ...]:
        """The ImageNet label of each view (``-1`` when unknown)."""
        return self.labels

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.images[index], self.labels[index]
