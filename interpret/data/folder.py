"""A dataset over image files: a folder (searched recursively) or a list of paths."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from torch import Tensor
from torch.utils.data import Dataset

from interpret.data.preprocess import Preprocess

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ImageFolderDataset", "IMAGE_EXTENSIONS", "list_images"]

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
)
"""File name endings (lower case) taken as images when a folder is searched."""


def list_images(root: Path) -> list[Path]:
    """The image files under ``root`` (recursively, by :data:`IMAGE_EXTENSIONS`), sorted;
    ``ValueError`` when there are none."""
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise ValueError(
            f"No images in {root} (searched recursively for {', '.join(sorted(IMAGE_EXTENSIONS))})."
        )
    return files


class ImageFolderDataset(Dataset[tuple[Tensor, int]]):
    """Images from files, read lazily, as ``(image_tensor, label)`` pairs.

    Parameters
    ----------
    root_or_files:
        A folder, searched recursively for files ending in one of
        :data:`IMAGE_EXTENSIONS` (any case), sorted by path; or a sequence of file paths,
        kept in the given order (any extension).
    preprocess:
        Turns each image into the model's input. Images are converted to RGB (or to
        gray for a one-channel preprocess) when read.
    labels:
        ``"folders"``: the label is the index of the image's class folder in the sorted
        :attr:`classes` (for a folder, the first folder level under ``root``, as
        torchvision's ``ImageFolder``; for a list of files, each file's parent folder
        name). ``"none"``: every label is ``-1``.

    Attributes
    ----------
    files:
        The image paths, in dataset order.
    classes:
        Sorted class folder names (empty with ``labels="none"``).
    targets:
        The label of each file.

    Raises
    ------
    ValueError
        The folder does not exist or holds no images, a listed file does not exist,
        an image sits directly in ``root`` with ``labels="folders"``, or (on access) a
        file cannot be read as an image; the message names the path.
    """

    def __init__(
        self,
        root_or_files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        preprocess: Preprocess,
        labels: Literal["none", "folders"] = "none",
    ) -> None:
        if not isinstance(preprocess, Preprocess):
            raise TypeError(f"preprocess must be a Preprocess, not {type(preprocess).__name__}.")
        if labels not in ("none", "folders"):
            raise ValueError(f"labels is 'none' or 'folders', not {labels!r}.")
        self.preprocess = preprocess
        if isinstance(root_or_files, (str, os.PathLike)):
            root = Path(root_or_files)
            if not root.is_dir():
                raise ValueError(
                    f"{root} is not a folder; pass a folder of images or a list of image files."
                )
            files = list_images(root)
            folders = labels == "folders"
            class_of = [self._class_under_root(root, p) if folders else "" for p in files]
        else:
            files = [Path(p) for p in root_or_files]
            if not files:
                raise ValueError("The list of image files is empty.")
            missing = [str(p) for p in files if not p.is_file()]
            if missing:
                raise ValueError(f"No such image file: {missing[0]} ({len(missing)} missing).")
            class_of = [p.parent.name for p in files]
        self.files: tuple[Path, ...] = tuple(files)
        if labels == "folders":
            self.classes: tuple[str, ...] = tuple(sorted(set(class_of)))
            lookup = {name: i for i, name in enumerate(self.classes)}
            self.targets: tuple[int, ...] = tuple(lookup[c] for c in class_of)
        else:
            self.classes = ()
            self.targets = (-1,) * len(files)

    @staticmethod
    def _class_under_root(root: Path, path: Path) -> str:
        parts = path.relative_to(root).parts
        if len(parts) < 2:
            raise ValueError(
                f"{path} lies directly in {root}; with labels='folders' every image must be "
                "in a class subfolder (or pass labels='none')."
            )
        return parts[0]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.preprocess(self.read(index)), self.targets[index]

    def read(self, index: int) -> Image.Image:
        """The image at ``index`` as a PIL image (RGB, or gray for a one-channel preprocess)."""
        from PIL import Image, UnidentifiedImageError  # noqa: F811

        path = self.files[index]
        try:
            with Image.open(path) as image:
                image.load()
                return image.convert("L" if self.preprocess.channels == 1 else "RGB")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise ValueError(f"Cannot read {path} as an image: {error}") from error
