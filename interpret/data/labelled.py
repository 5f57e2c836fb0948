"""Labelled images: files with class labels and optional attributes, read lazily.

Labels come from class folders or from a CSV file with a ``path,label`` header and
optional attribute columns (``path,label,smiling,glasses``), as the attribute
histograms of DeepID2+ (Sun, Wang & Tang, 2015) need. Nothing is read at construction
beyond the CSV itself: images are opened one at a time in ``__getitem__``.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from interpret.data.preprocess import Preprocess

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "LabelTable",
    "LabelledImages",
    "LabelledSubset",
    "as_label",
    "read_image",
    "read_labels_csv",
    "stratified_order",
]


def read_image(path: str | os.PathLike[str], channels: int = 3) -> Image.Image:
    """The image file at ``path`` as a PIL image: RGB, or gray for ``channels == 1``.

    Raises
    ------
    ValueError
        The file cannot be read as an image (the message names it).
    """
    from PIL import Image, UnidentifiedImageError  # noqa: F811

    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"Cannot read image {path}: {error}") from None


def as_label(value: Any, where: str) -> int:
    """``value`` as an integer class label; ``where`` names it in the error.

    Integer-valued floats (``2.0``) and one-element tensors are accepted; ``0.6``,
    ``nan``, booleans and labels below ``-1`` (``-1`` means unlabelled) are refused.

    Raises
    ------
    ValueError
        The value is not an integer class index.
    """
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"The label of {where} is a tensor of shape {tuple(value.shape)}; give one "
                "integer class index per image."
            )
        value = value.item()
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        value = value.item()  # NumPy scalars
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            f"The label of {where} is {value!r} ({type(value).__name__}); give an integer "
            "class index (-1 for unlabelled)."
        )
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(
            f"The label of {where} is {value!r}, not an integer class index; labels are "
            "class indices (0, 1, ...) or class names, never fractions."
        )
    label = int(value)
    if label < -1:
        raise ValueError(f"The label of {where} is {label}; class indices start at 0 (-1: none).")
    return label


@dataclass(frozen=True)
class LabelTable:
    """What a labels CSV says.

    Attributes
    ----------
    files:
        One path per row (relative paths resolved against the CSV's folder).
    names:
        The paths as the CSV writes them (short item names).
    targets:
        Class index per row, ``-1`` where the label cell is empty.
    classes:
        Class names in index order: sorted label strings, or ``"0"``...``"K-1"`` when
        every label is an integer.
    attributes:
        ``(N, A)`` float32 values of the attribute columns, or ``None`` without any.
    attribute_names:
        The attribute column names, in CSV order.
    """

    files: tuple[Path, ...]
    names: tuple[str, ...]
    targets: tuple[int, ...]
    classes: tuple[str, ...]
    attributes: Tensor | None
    attribute_names: tuple[str, ...]


def read_labels_csv(path: str | os.PathLike[str]) -> LabelTable:
    """Read a labels file: a ``path,label`` header, then one image per row.

    Further columns are attributes with numeric values (``0``/``1`` or any number).
    Labels are class names (any text; indices follow their sorted order) or integer
    class indices; an empty label cell means unlabelled (``-1``).

    Raises
    ------
    ValueError
        No ``path`` or ``label`` column, a row of the wrong length, a fractional label,
        a non-numeric attribute, or files that do not exist (one error naming the first
        few and the count).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.png").write_bytes(b""), (folder / "b.png").write_bytes(b"")
    >>> _ = (folder / "labels.csv").write_text("path,label,smiling\\na.png,cat,1\\nb.png,dog,0\\n")
    >>> table = read_labels_csv(folder / "labels.csv")
    >>> table.targets, table.classes, table.attributes.tolist()
    ((0, 1), ('cat', 'dog'), [[1.0], [0.0]])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such labels file: {path}.")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path} is empty; write a header path,label[,attribute...] and rows.")
    header = [cell.strip() for cell in rows[0]]
    lower = [h.lower() for h in header]
    if "path" not in lower or "label" not in lower or len(set(lower)) != len(lower):
        raise ValueError(
            f"The first line of {path} must name distinct columns path,label[,attribute...]; "
            f"found {','.join(header)}."
        )
    at_path, at_label = lower.index("path"), lower.index("label")
    extra = [i for i in range(len(header)) if i not in (at_path, at_label)]
    body = rows[1:]
    if not body:
        raise ValueError(f"{path} names no images (only a header).")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(
                f"Line {number} of {path} has {len(row)} fields, the header {len(header)}."
            )
    names = tuple(row[at_path].strip() for row in body)
    files = tuple(p if p.is_absolute() else path.parent / p for p in map(Path, names))
    missing = [name for name, file in zip(names, files) if not file.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ValueError(
            f"{len(missing)} of the {len(files)} images named in {path} do not exist "
            f"(relative paths are read from {path.parent}): {shown}. Fix the paths or "
            "remove those rows."
        )
    targets, classes = _labels([row[at_label].strip() for row in body], path)
    attributes = None
    if extra:
        values = [
            [_number(row[i], header[i], n, path) for i in extra] for n, row in enumerate(body, 2)
        ]
        attributes = torch.tensor(values, dtype=torch.float32)
    return LabelTable(files, names, targets, classes, attributes, tuple(header[i] for i in extra))


def _labels(cells: list[str], path: Path) -> tuple[tuple[int, ...], tuple[str, ...]]:
    given = [c for c in cells if c]
    if not given:
        return (-1,) * len(cells), ()
    try:
        [float(c) for c in given]
    except ValueError:
        classes = tuple(sorted(set(given)))
        index = {name: i for i, name in enumerate(classes)}
        return tuple(index[c] if c else -1 for c in cells), classes
    targets = tuple(
        as_label(float(cell), f"line {line} of {path} ({cell!r})") if cell else -1
        for line, cell in enumerate(cells, start=2)
    )
    count = max(targets) + 1
    return targets, tuple(str(i) for i in range(count))


def _number(cell: str, column: str, line: int, path: Path) -> float:
    try:
        return float(cell)
    except ValueError:
        raise ValueError(
            f"Attribute {column!r} on line {line} of {path} is {cell!r}; attribute columns "
            "hold numbers (0/1 for yes/no)."
        ) from None


class LabelledImages(Dataset[tuple[Tensor, int]]):
    """Image files with a class label each (and optional attributes), read lazily.

    Parameters
    ----------
    files:
        The image paths, in dataset order.
    targets:
        One class index per file (``-1``: unlabelled).
    preprocess:
        Turns each image into the model's input.
    classes:
        Class names in index order (empty when unlabelled).
    names:
        One short name per item; the file names by default.
    attributes:
        ``(N, A)`` attribute values, or ``None``.
    attribute_names:
        ``A`` names of the attribute columns.

    Attributes
    ----------
    files, targets, classes, names, attributes, attribute_names:
        As given (tuples; ``attributes`` a float32 tensor).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from PIL import Image
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a.png")
    >>> data = LabelledImages([folder / "a.png"], [0], Preprocess(size=4), classes=["cat"])
    >>> tuple(data[0][0].shape), data[0][1], data.classes
    ((3, 4, 4), 0, ('cat',))
    """

    def __init__(
        self,
        files: Sequence[str | os.PathLike[str]],
        targets: Sequence[int],
        preprocess: Preprocess,
        classes: Sequence[str] = (),
        *,
        names: Sequence[str] | None = None,
        attributes: Tensor | None = None,
        attribute_names: Sequence[str] = (),
    ) -> None:
        if not isinstance(preprocess, Preprocess):
            raise TypeError(f"preprocess must be a Preprocess, not {type(preprocess).__name__}.")
        self.files: tuple[Path, ...] = tuple(f if isinstance(f, Path) else Path(f) for f in files)
        self.targets: tuple[int, ...] = tuple(
            t if type(t) is int and t >= -1 else as_label(t, str(f))
            for t, f in zip(targets, self.files)
        )
        self.classes: tuple[str, ...] = tuple(classes)
        self.names: tuple[str, ...] = (
            tuple(names) if names is not None else tuple(f.name for f in self.files)
        )
        self.preprocess = preprocess
        self.attributes = attributes
        self.attribute_names: tuple[str, ...] = tuple(attribute_names)
        n = len(self.files)
        if len(self.targets) != n or len(self.names) != n:
            raise ValueError(
                f"{n} files need as many targets and names; got {len(self.targets)} and "
                f"{len(self.names)}."
            )
        if self.classes and max(self.targets, default=-1) >= len(self.classes):
            raise ValueError(
                f"A label is {max(self.targets)}, but there are {len(self.classes)} classes."
            )
        if attributes is not None and tuple(attributes.shape) != (n, len(self.attribute_names)):
            raise ValueError(
                f"attributes must have shape ({n}, {len(self.attribute_names)}) (items, "
                f"attribute names); got {tuple(attributes.shape)}."
            )

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.preprocess(self.read(index)), self.targets[index]

    def read(self, index: int) -> Image.Image:
        """The image at ``index`` as a PIL image (RGB, or gray for a one-channel preprocess)."""
        return read_image(self.files[index], self.preprocess.channels)

    def subset(self, indices: Sequence[int]) -> LabelledImages:
        """The items at ``indices``, in that order, with their labels and attributes."""
        picked = list(indices)
        return LabelledImages(
            [self.files[i] for i in picked],
            [self.targets[i] for i in picked],
            self.preprocess,
            self.classes,
            names=[self.names[i] for i in picked],
            attributes=None if self.attributes is None else self.attributes[picked],
            attribute_names=self.attribute_names,
        )

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], preprocess: Preprocess) -> LabelledImages:
        """The images a labels CSV names (see :func:`read_labels_csv`)."""
        table = read_labels_csv(path)
        return cls(
            table.files,
            table.targets,
            preprocess,
            table.classes,
            names=table.names,
            attributes=table.attributes,
            attribute_names=table.attribute_names,
        )


class LabelledSubset(Dataset):
    """Some items of a dataset, with their ``targets`` (and ``classes``, attributes).

    Parameters
    ----------
    dataset:
        Any map-style dataset yielding ``(image, label)``.
    indices:
        Which items, in this order.
    targets:
        The labels of *all* items of ``dataset`` (so no image is read to find them).
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int], targets: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices: tuple[int, ...] = tuple(int(i) for i in indices)
        self.targets: tuple[int, ...] = tuple(int(targets[i]) for i in self.indices)
        self.classes = tuple(getattr(dataset, "classes", ()) or ())
        attributes = getattr(dataset, "attributes", None)
        self.attributes = attributes[list(self.indices)] if isinstance(attributes, Tensor) else None
        self.attribute_names = tuple(getattr(dataset, "attribute_names", ()) or ())

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]


def stratified_order(targets: Sequence[int], seed: int = 0) -> list[int]:
    """All indices, ordered so that any prefix is balanced over the classes.

    Each class's indices (unlabelled ``-1`` items form one group) are shuffled with a
    ``torch.Generator`` seeded with ``seed``; then the classes are visited round-robin
    in label order, one item each, until every class is used up. The first ``n``
    indices are a stratified sample of size ``n``: per-class counts differ by at most
    one unless a class runs out.

    Examples
    --------
    >>> order = stratified_order([0, 0, 0, 0, 1, 1], seed=0)
    >>> sorted(order[:4]), sorted(set(order)) == list(range(6))
    ([0, 1, 4, 5], True)
    """
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(targets):
        groups.setdefault(int(label), []).append(index)
    generator = torch.Generator().manual_seed(seed)
    shuffled = []
    for label in sorted(groups):
        members = groups[label]
        order = torch.randperm(len(members), generator=generator).tolist()
        shuffled.append([members[i] for i in order])
    result: list[int] = []
    for rank in range(max((len(g) for g in shuffled), default=0)):
        result.extend(g[rank] for g in shuffled if rank < len(g))
    return result
