"""The labelled data a user names, preprocessed for their model.

Data is named by:

- ``None`` or a bundled name: ``"samples"`` (the sample photos and their corner crops),
  ``"digits"`` (the bundled digits, test split), ``"faces"`` (faces vs non-faces);
- one folder of images, searched recursively; when every image lies in a class
  subfolder, the first folder level under it is the class (as torchvision's
  ``ImageFolder``; one class folder gives one class, so a report can say that
  per-class methods need two);
- a CSV file with a ``path,label`` header and optional numeric attribute columns (see
  :func:`interpret.data.labelled.read_labels_csv`);
- ``"package.module:factory"``: a function returning a map-style ``Dataset`` that yields
  ``(image, label)``; it is given ``preprocess=`` (or ``transform=``) when it takes one.
  Tensor images are used as they come; PIL images and arrays go through ``preprocess``;
- image files, listed one by one (unlabelled, or labelled by parent folder with
  ``labels="folders"``).

Images are read lazily. Files are checked at resolve time by their headers only
(``PIL.Image.verify``, about 0.06 ms per small file), so a damaged file is named before
a scan starts.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor
from torch.utils.data import Dataset

from interpret.core.digests import digest
from interpret.core.factories import FACTORY_PATTERN, import_factory
from interpret.data.folder import list_images
from interpret.data.labelled import (
    LabelledImages,
    LabelledSubset,
    as_label,
    stratified_order,
)

__all__ = ["DATA_NAMES", "DataSource", "FactoryDataset", "resolve_data"]

DATA_NAMES = ("samples", "digits", "faces")
_LABELS = ("auto", "folders", "none")


@dataclass(frozen=True)
class DataSource:
    """A dataset with names for its items and classes, and a key for caching.

    Attributes
    ----------
    dataset:
        Map-style; yields ``(image, label)`` with ``image`` the model's input
        ``(C, H, W)`` and ``label`` a class index (``-1``: unlabelled).
    name:
        What the user asked for.
    item_names:
        One short name per item (relative path, photo name, ``digit 3 #12``).
    class_names:
        Names of the labels in index order, or ``None`` for unlabelled data.
    key:
        Hash of the files (path, size, modification time), labels and preprocessing.
    attributes:
        Names of the attribute columns (values in ``dataset.attributes``, ``(N, A)``),
        or ``None``.
    skipped:
        Unreadable files left out (with ``skip_bad_images=True``).
    targets:
        The label of each item, ``-1`` where unlabelled; read without opening images.
    """

    dataset: Dataset
    name: str
    item_names: tuple[str, ...]
    class_names: tuple[str, ...] | None
    key: str
    attributes: tuple[str, ...] | None = None
    skipped: tuple[str, ...] = ()
    targets: tuple[int, ...] = ()


def resolve_data(
    data: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    preprocess: Any,
    default: str = "samples",
    *,
    labels: str = "auto",
    max_images: int | None = None,
    seed: int = 0,
    skip_bad_images: bool = False,
) -> DataSource:
    """The dataset that ``data`` names (see the module docstring), for ``preprocess``.

    Parameters
    ----------
    data:
        One name, folder, CSV file or factory, or a list of image files; ``None``:
        ``default``.
    preprocess:
        The model's :class:`interpret.data.Preprocess` (a fixed size of 224 is used
        when it has none, so that images batch together).
    labels:
        For folders and CSV files: ``"auto"``, class folders / CSV labels when there
        are any; ``"folders"``, require class folders; ``"none"``, every label ``-1``.
        Bundled and factory data keep their own labels (``"folders"`` is refused).
    max_images:
        Keep this many items, a stratified sample over the classes (round-robin over
        classes, each shuffled with ``seed``), in dataset order. Deterministic.
    seed:
        Seeds that sample.
    skip_bad_images:
        Leave out files that cannot be read (listed in :attr:`DataSource.skipped`)
        instead of failing.

    Raises
    ------
    FileNotFoundError
        A folder or file that does not exist.
    ValueError
        An empty folder, an unreadable image (without ``skip_bad_images``), a labels CSV
        naming missing files, labels that are not integer class indices, bad options.
    """
    if labels not in _LABELS:
        raise ValueError(f"labels is one of {', '.join(_LABELS)}, not {labels!r}.")
    if max_images is not None and (not isinstance(max_images, int) or max_images < 1):
        raise ValueError(f"max_images is a positive int or None, not {max_images!r}.")
    if isinstance(data, (str, os.PathLike)):
        data = [data]
    specs = [os.fspath(s) for s in data] if data else [default]
    fixed = _fixed_size(preprocess)
    single = specs[0] if len(specs) == 1 else None
    if single in DATA_NAMES:
        return _sampled(*_bundled(single, preprocess), max_images, seed, labels)
    if single is not None and FACTORY_PATTERN.match(single) and not Path(single).exists():
        return _sampled(*_factory(single, fixed), max_images, seed, labels)
    images, name = _files(specs, fixed, labels), ", ".join(specs)
    return _checked(images, name, fixed, labels, max_images, seed, skip_bad_images)


def _files(specs: list[str], preprocess: Any, labels: str) -> LabelledImages:
    paths = [Path(s).expanduser() for s in specs]
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"No such folder or file: {path}.")
    if len(paths) == 1 and paths[0].suffix.lower() == ".csv" and paths[0].is_file():
        if labels == "folders":
            raise ValueError(f"{paths[0]} is a labels file; labels='folders' needs a folder.")
        return LabelledImages.from_csv(paths[0], preprocess)
    if len(paths) == 1 and paths[0].is_dir():
        root = paths[0]
        files = list_images(root)
        parts = [p.relative_to(root).parts for p in files]
        flat = [f for f, part in zip(files, parts) if len(part) < 2]
        if labels == "folders" and flat:
            raise ValueError(
                f"{flat[0]} lies directly in {root}; with labels='folders' every image must "
                "be in a class subfolder (or pass labels='none')."
            )
        names = ["/".join(part) for part in parts]
        if labels == "none" or flat:
            return LabelledImages(files, [-1] * len(files), preprocess, names=names)
        classes = sorted({part[0] for part in parts})
        index = {c: i for i, c in enumerate(classes)}
        targets = [index[part[0]] for part in parts]
        return LabelledImages(files, targets, preprocess, classes, names=names)
    if any(p.is_dir() for p in paths):
        raise ValueError("Give either one folder or a list of image files, not both.")
    if labels != "folders":
        return LabelledImages(paths, [-1] * len(paths), preprocess)
    classes = sorted({p.parent.name for p in paths})
    targets = [classes.index(p.parent.name) for p in paths]
    return LabelledImages(paths, targets, preprocess, classes)


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read as an image (from its header), or ``None``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def _checked(
    images: LabelledImages,
    name: str,
    preprocess: Any,
    labels: str,
    max_images: int | None,
    seed: int,
    skip: bool,
) -> DataSource:
    """Sample (stratified), check headers, drop (or refuse) unreadable files."""
    if labels == "none":
        images = LabelledImages(images.files, [-1] * len(images), preprocess, names=images.names)
    order = stratified_order(images.targets, seed) if max_images else range(len(images))
    limit = max_images or len(images)
    chosen: list[int] = []
    skipped: list[str] = []
    for index in order:
        if len(chosen) == limit:
            break
        problem = _unreadable(images.files[index])
        if problem is None:
            chosen.append(index)
        elif skip:
            skipped.append(str(images.files[index]))
        else:
            raise ValueError(
                f"Cannot read image {images.files[index]}: not an image file or damaged "
                f"({problem}). Remove it, or pass skip_bad_images=True to leave such files out."
            )
    if not chosen:
        raise ValueError(f"None of the {len(skipped)} images in {name} can be read.")
    subset = images.subset(sorted(chosen))
    stats = [
        (str(p), s.st_size, s.st_mtime_ns) for p, s in zip(subset.files, map(os.stat, subset.files))
    ]
    key = digest(stats, subset.targets, subset.classes, preprocess, labels, max_images, seed)
    attributes = subset.attribute_names if subset.attributes is not None else None
    return DataSource(
        subset,
        name,
        subset.names,
        subset.classes or None,
        key,
        attributes,
        tuple(skipped),
        subset.targets,
    )


def _bundled(name: str, preprocess: Any) -> tuple[Dataset, str, tuple, Any, tuple[int, ...], Any]:
    from interpret.data import Digits, FacesVsNonFaces
    from interpret.data.samples import SampleViews

    if name == "samples":
        views = SampleViews(_fixed_size(preprocess))
        return views, name, views.names, None, views.targets, (preprocess, views.names)
    if name == "digits":
        digits = Digits(split="test", channels=preprocess.channels, size=_side(preprocess, 32))
        targets = tuple(int(t) for t in digits.targets)
        names = tuple(f"digit {t} #{i}" for i, t in enumerate(targets))
        return digits, name, names, tuple(Digits.classes), targets, preprocess
    faces = FacesVsNonFaces(_fixed_size(preprocess))
    targets = tuple(int(t) for t in faces.targets)
    names = tuple(f"{faces.classes[t]} #{i}" for i, t in enumerate(targets))
    return faces, name, names, tuple(faces.classes), targets, preprocess


def _sampled(
    dataset: Dataset,
    name: str,
    names: tuple[str, ...],
    classes: tuple[str, ...] | None,
    targets: tuple[int, ...],
    key_part: Any,
    max_images: int | None,
    seed: int,
    labels: str,
) -> DataSource:
    if labels == "folders":
        raise ValueError(f"labels='folders' needs a folder of class folders, not {name!r}.")
    if classes and max(targets, default=-1) >= len(classes):
        raise ValueError(f"{name} has a label {max(targets)} but only {len(classes)} class names.")
    key = digest(name, key_part)
    if max_images is not None and max_images < len(targets):
        picked = sorted(stratified_order(targets, seed)[:max_images])
        dataset = LabelledSubset(dataset, picked, targets)
        names, targets = tuple(names[i] for i in picked), tuple(targets[i] for i in picked)
        key = digest(key, max_images, seed)
    attribute_names = getattr(dataset, "attribute_names", None)
    has = isinstance(getattr(dataset, "attributes", None), Tensor) and attribute_names
    attributes = tuple(attribute_names) if has else None
    return DataSource(dataset, name, names, classes or None, key, attributes, (), targets)


class FactoryDataset(Dataset[tuple[Tensor, int]]):
    """A user's dataset, with images preprocessed and labels checked.

    Items of ``dataset`` are ``(image, label)``: tensor images are returned as they are
    (the factory prepared them); PIL images and arrays go through ``preprocess``.
    Labels become ints (:func:`interpret.data.labelled.as_label`).

    Attributes
    ----------
    targets:
        The label of every item: the dataset's own ``targets`` when it has them, else
        read item by item once (which opens every image).
    classes:
        The dataset's ``classes`` (a list or tuple of names), else ``()``.
    attributes, attribute_names:
        The dataset's own (``(N, A)`` tensor and ``A`` names), else ``None`` and ``()``.
    """

    def __init__(self, dataset: Any, preprocess: Any, name: str) -> None:
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(
                f"{name} gave a {type(dataset).__name__}; give a map-style Dataset (with "
                "__len__ and __getitem__) that yields (image, label)."
            )
        if len(dataset) == 0:
            raise ValueError(f"{name} gave an empty dataset.")
        self.dataset, self.preprocess, self.name = dataset, preprocess, name
        found = getattr(dataset, "classes", None)
        self.classes = tuple(str(c) for c in found) if isinstance(found, (list, tuple)) else ()
        attributes = getattr(dataset, "attributes", None)
        self.attributes = attributes if isinstance(attributes, Tensor) else None
        self.attribute_names = tuple(getattr(dataset, "attribute_names", ()) or ())
        given = getattr(dataset, "targets", None)
        if given is None:
            given = [self._item(i)[1] for i in range(len(dataset))]
        if len(given) != len(dataset):
            raise ValueError(f"{name}: {len(given)} targets for {len(dataset)} items.")
        self.targets = tuple(as_label(t, f"item {i} of {name}") for i, t in enumerate(given))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image, label = self._item(index)
        if not isinstance(image, Tensor):
            image = self.preprocess(image)
        return image, as_label(label, f"item {index} of {self.name}")

    def _item(self, index: int) -> tuple[Any, Any]:
        item = self.dataset[index]
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(
                f"Item {index} of {self.name} is a {type(item).__name__}; the dataset must "
                "yield (image, label) pairs."
            )
        return item[0], item[1]


def _factory(spec: str, preprocess: Any) -> tuple[Dataset, str, tuple, Any, tuple[int, ...], Any]:
    target = import_factory(spec, "dataset")
    try:
        parameters = set(inspect.signature(target).parameters)
    except (TypeError, ValueError):  # builtins without a signature
        parameters = set()
    takes = [p for p in ("preprocess", "transform") if p in parameters][:1]
    dataset = FactoryDataset(target(**{p: preprocess for p in takes}), preprocess, f"{spec}()")
    classes, targets = dataset.classes, dataset.targets
    listed = getattr(dataset.dataset, "item_names", None) or getattr(dataset.dataset, "names", None)
    if isinstance(listed, (list, tuple)) and len(listed) == len(targets):
        names = tuple(str(n) for n in listed)
    elif classes:
        names = tuple(f"{classes[t]} #{i}" if t >= 0 else f"#{i}" for i, t in enumerate(targets))
    else:
        names = tuple(f"item {i}" for i in range(len(targets)))
    return dataset, spec, names, classes or None, targets, (preprocess, len(targets), targets)


def _side(preprocess: Any, fallback: int) -> int:
    size = preprocess.size
    if size is None:
        return fallback
    return int(size if isinstance(size, int) else size[0])


def _fixed_size(preprocess: Any) -> Any:
    """``preprocess`` with a fixed size (scans batch images together)."""
    if preprocess.size is not None:
        return preprocess
    return dataclasses.replace(preprocess, size=224)
