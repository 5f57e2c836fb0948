"""Models and data for the report and the command line, resolved from short strings.

Models: ``"efficientnet_lite0"`` (bundled ImageNet weights), ``"zfnet"`` (a small ZFNet
trained on the bundled digits, cached), torchvision / timm architecture names,
``"package.module:factory"``, or a checkpoint file that names its architecture
(``{"arch": "resnet18", "state_dict": {...}}``). Data: ``None`` (the model's bundled
data), ``"samples"``, ``"digits"``, ``"faces"``, one folder, or image files.

Every source carries a *key*: a hash of what determines its numbers (model name and
checkpoint bytes, file list, sizes), so that saved results are reused only for the same
inputs.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

__all__ = [
    "BUNDLED_MODELS",
    "DATA_NAMES",
    "DataSource",
    "LoadedModel",
    "SampleViews",
    "ZFNET_RECIPE",
    "default_cache_dir",
    "file_digest",
    "resolve_data",
    "resolve_model",
    "trained_zfnet_digits",
]

BUNDLED_MODELS = ("efficientnet_lite0", "zfnet")
DATA_NAMES = ("samples", "digits", "faces")
ZFNET_RECIPE: dict[str, Any] = {"epochs": 6, "lr": 0.02, "batch_size": 32, "seed": 0}
"""How the report's ZFNet-on-digits is trained (part of its cache key)."""


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (first 16 hex digits) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def default_cache_dir() -> Path:
    """``$INTERPRET_CACHE``, else ``$XDG_CACHE_HOME/interpret``, else ``~/.cache/interpret``."""
    if os.environ.get("INTERPRET_CACHE"):
        return Path(os.environ["INTERPRET_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "interpret"


@dataclass
class LoadedModel:
    """A model ready to scan, with how to feed it and name its outputs.

    Attributes
    ----------
    model:
        In eval mode, on the requested device.
    name:
        What the user asked for (shown in the report).
    preprocess:
        An :class:`interpret.data.Preprocess` for its inputs.
    class_names:
        Names of the output classes, or ``None``.
    key:
        Hash of the architecture and weights.
    default_data:
        Which bundled data suits it (``"samples"`` or ``"digits"``).
    notes:
        Caveats for the report (random weights, ...).
    """

    model: nn.Module
    name: str
    preprocess: Any
    class_names: tuple[str, ...] | None
    key: str
    default_data: str = "samples"
    notes: list[str] = field(default_factory=list)


def trained_zfnet_digits(
    cache_dir: str | os.PathLike[str] | None,
    *,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """The report's ZFNet trained on :class:`interpret.data.Digits` (train split).

    Trained once with :data:`ZFNET_RECIPE` (deterministic on CPU) and cached as
    ``cache_dir/zfnet_digits-<key>.pt``; later calls load the cached state dict.

    Returns
    -------
    (model, info)
        The model in eval mode, and ``{"test_accuracy": ..., "cached": bool, "path": ...}``.
    """
    import interpret
    from interpret.data import Digits
    from interpret.models.training import evaluate_accuracy, train_zfnet
    from interpret.models.zfnet import zfnet_digits

    key = _digest("zfnet_digits", ZFNET_RECIPE, interpret.__version__, torch.__version__)
    model = zfnet_digits()
    path = Path(cache_dir) / f"zfnet_digits-{key}.pt" if cache_dir is not None else None
    if path is not None and path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        return model.eval(), {
            "test_accuracy": state["test_accuracy"],
            "cached": True,
            "path": str(path),
            "key": key,
        }
    if log is not None:
        log(f"training ZFNet on digits ({ZFNET_RECIPE['epochs']} epochs, cached after)")
    recipe = ZFNET_RECIPE
    train_zfnet(
        model,
        Digits(split="train"),
        epochs=recipe["epochs"],
        lr=recipe["lr"],
        batch_size=recipe["batch_size"],
        generator=torch.Generator().manual_seed(recipe["seed"]),
    )
    accuracy = evaluate_accuracy(model, Digits(split="test"))
    if path is not None:
        from interpret.core import atomic_write

        payload = {"state_dict": model.state_dict(), "test_accuracy": accuracy}
        atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return model.eval(), {
        "test_accuracy": accuracy,
        "cached": False,
        "path": str(path) if path else None,
        "key": key,
    }


def _torchvision_names() -> list[str]:
    import torchvision

    return list(torchvision.models.list_models())


def _timm_names() -> list[str]:
    import timm

    return list(timm.list_models())


def _unknown_model(spec: str) -> ValueError:
    names = list(BUNDLED_MODELS) + _torchvision_names() + _timm_names()
    close = list(dict.fromkeys(difflib.get_close_matches(spec, names, n=6, cutoff=0.6)))[:4]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ValueError(
        f"Unknown model {spec!r}.{hint} Give efficientnet_lite0, zfnet, a torchvision or "
        "timm architecture name, package.module:factory, or a checkpoint file."
    )


def _load_state(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint file at {path}.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a bad file
        raise ValueError(f"Cannot read checkpoint {path}: {type(err).__name__}.") from None
    if not isinstance(state, dict):
        raise ValueError(f"Checkpoint {path} holds a {type(state).__name__}, not a state dict.")
    return state


def _unwrap_state(state: dict[str, Any]) -> dict[str, Any]:
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state.get(key), dict):
            return state[key]
    return state


def _user_preprocess(image_size: int, mean: Sequence[float] | None, std: Sequence[float] | None):
    from interpret.data import IMAGENET, Preprocess

    return Preprocess(
        mean=tuple(mean) if mean is not None else IMAGENET.mean,
        std=tuple(std) if std is not None else IMAGENET.std,
        size=image_size,
        resize=round(image_size * 256 / 224),
        interpolation="bilinear",
    )


def _build_architecture(spec: str) -> tuple[nn.Module, str] | None:
    """``(model, family)`` for a torchvision or timm name (random weights), else ``None``."""
    if spec in _torchvision_names():
        import torchvision

        return torchvision.models.get_model(spec, weights=None), "torchvision"
    if spec in _timm_names():
        import timm

        return timm.create_model(spec, pretrained=False), "timm"
    return None


def _from_factory(spec: str) -> nn.Module:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"Cannot import {module_name!r} for model {spec!r}: {err}.") from None
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise ValueError(f"{module_name!r} has no callable {attr!r} (model {spec!r}).")
    model = factory()
    if not isinstance(model, nn.Module):
        raise TypeError(f"{spec}() returned a {type(model).__name__}, not an nn.Module.")
    return model


def resolve_model(
    spec: str,
    weights: str | os.PathLike[str] | None = None,
    *,
    image_size: int = 224,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    device: str | torch.device = "cpu",
    cache_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
    trained: bool = True,
) -> LoadedModel:
    """Build the model that ``spec`` names (see the module docstring).

    ``trained=False`` skips training ``zfnet`` (enough to list its sites).

    Raises
    ------
    ValueError
        Unknown name (with the closest known names), a factory that cannot be imported,
        or a checkpoint that does not fit.
    FileNotFoundError
        A weights file that does not exist.
    """
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"The model is given by a non-empty string, not {spec!r}.")
    notes: list[str] = []
    default_data = "samples"
    if spec == "efficientnet_lite0":
        from interpret.data import EFFICIENTNET_LITE0, imagenet_labels
        from interpret.models.efficientnet import bundled_weights_path, efficientnet_lite0

        model = efficientnet_lite0(pretrained=weights is None)
        preprocess, classes = EFFICIENTNET_LITE0, imagenet_labels()
        key = _digest(spec, file_digest(bundled_weights_path()))
    elif spec == "zfnet" and not trained:
        from interpret.data import Digits
        from interpret.models.zfnet import zfnet_digits

        model, preprocess, classes = zfnet_digits(), Digits().preprocess, Digits.classes
        key, default_data = _digest(spec, "untrained"), "digits"
    elif spec == "zfnet":
        from interpret.data import Digits

        model, info = trained_zfnet_digits(
            cache_dir if cache_dir is not None else default_cache_dir(), log=log
        )
        preprocess, classes = Digits().preprocess, Digits.classes
        key, default_data = _digest(spec, info["key"]), "digits"
        notes.append(f"ZFNet trained on digits, test accuracy {info['test_accuracy']:.1%}.")
    elif ":" in spec and not Path(spec).exists():
        model = _from_factory(spec)
        preprocess, classes = _user_preprocess(image_size, mean, std), None
        key = _digest(spec, image_size, mean, std)
    elif Path(spec).suffix in (".pt", ".pth", ".ckpt", ".bin") or Path(spec).is_file():
        state = _load_state(Path(spec))
        arch = state.get("arch") or state.get("architecture")
        if not isinstance(arch, str):
            raise ValueError(
                f"Checkpoint {spec} does not name its architecture; pass --model ARCH "
                f"--weights {spec} instead."
            )
        loaded = resolve_model(
            arch,
            None,
            image_size=image_size,
            mean=mean,
            std=std,
            device="cpu",
            cache_dir=cache_dir,
            log=log,
        )
        _load_weights(loaded.model, _unwrap_state(state), spec)
        loaded.name, loaded.key = spec, _digest(spec, file_digest(spec))
        loaded.notes = [n for n in loaded.notes if "random" not in n]
        loaded.model.to(device).eval()
        return loaded
    else:
        built = _build_architecture(spec)
        if built is None:
            raise _unknown_model(spec)
        model, family = built
        preprocess, classes = _user_preprocess(image_size, mean, std), None
        if model_classes(model) == 1000:
            from interpret.data import imagenet_labels

            classes = imagenet_labels()
        key = _digest(spec, family, image_size, mean, std)
        if weights is None:
            notes.append(f"{spec} has random weights (no --weights given).")
    if weights is not None:
        _load_weights(model, _unwrap_state(_load_state(Path(weights))), str(weights))
        key = _digest(key, file_digest(weights))
    model.to(device).eval()
    return LoadedModel(model, spec, preprocess, classes, key, default_data, notes)


def model_classes(model: nn.Module) -> int | None:
    """Outputs of the model's last linear layer, if it has one."""
    last = None
    for module in model.modules():
        if isinstance(module, nn.Linear):
            last = module
    return None if last is None else int(last.out_features)


def _load_weights(model: nn.Module, state: dict[str, Any], where: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[1:2] or [str(err)]
        raise ValueError(f"Weights in {where} do not fit the model: {first[0].strip()}") from None


@dataclass
class DataSource:
    """A dataset with names for its items and a key for caching.

    Attributes
    ----------
    dataset:
        Yields ``(image, label)``.
    name:
        What the user asked for.
    item_names:
        One short name per item (file name, photo name, ``digit 3 #12``).
    class_names:
        Names of the dataset's labels, if it has any.
    key:
        Hash of the file list and preprocessing.
    """

    dataset: Dataset
    name: str
    item_names: tuple[str, ...]
    class_names: tuple[str, ...] | None
    key: str


def _check_readable(files: Sequence[Path]) -> None:
    from PIL import Image, UnidentifiedImageError

    for path in files:
        try:
            with Image.open(path) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ValueError(f"Cannot read image {path}: not an image file or damaged.") from None


def resolve_data(
    data: Sequence[str] | None,
    preprocess: Any,
    default: str = "samples",
    *,
    labels: str = "auto",
) -> DataSource:
    """The dataset that ``data`` names, preprocessed for the model.

    ``labels="auto"`` labels the images of a folder by their class subfolder when every
    image lies in one and there are at least two; otherwise images are unlabelled.

    Raises
    ------
    FileNotFoundError
        A folder or file that does not exist.
    ValueError
        An empty folder, or a file that cannot be read as an image.
    """
    from interpret.data import IMAGE_EXTENSIONS, Digits, FacesVsNonFaces, ImageFolderDataset

    specs = list(data) if data else [default]
    if len(specs) == 1 and specs[0] in DATA_NAMES:
        name = specs[0]
        if name == "samples":
            ds = SampleViews(_fixed_size(preprocess))
            return DataSource(ds, name, ds.names, None, _digest(name, preprocess, ds.names))
        if name == "digits":
            ds = Digits(split="test", channels=preprocess.channels, size=_side(preprocess, 32))
            names = tuple(f"digit {int(t)} #{i}" for i, t in enumerate(ds.targets))
            return DataSource(ds, name, names, Digits.classes, _digest(name, preprocess))
        ds = FacesVsNonFaces(_fixed_size(preprocess))
        names = tuple(f"{ds.classes[int(t)]} #{i}" for i, t in enumerate(ds.targets))
        return DataSource(ds, name, names, ds.classes, _digest(name, preprocess))
    paths = [Path(s).expanduser() for s in specs]
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"No such folder or file: {path}.")
    if len(paths) == 1 and paths[0].is_dir():
        files = sorted(
            p for p in paths[0].rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not files:
            raise ValueError(f"No images in {paths[0]}.")
        root: Any = paths[0]
        classes = {p.relative_to(root).parts[0] for p in files}
        nested = all(len(p.relative_to(root).parts) >= 2 for p in files)
        if labels == "auto":
            labels = "folders" if nested and len(classes) >= 2 else "none"
    else:
        if any(p.is_dir() for p in paths):
            raise ValueError("Give either one folder or a list of image files, not both.")
        files, root = paths, [str(p) for p in paths]
        labels = "none" if labels == "auto" else labels
    _check_readable(files)
    ds = ImageFolderDataset(root, _fixed_size(preprocess), labels=labels)  # type: ignore[arg-type]
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in ds.files]
    classes = ds.classes or None
    names = tuple(p.name for p in ds.files)
    return DataSource(ds, ", ".join(specs), names, classes, _digest(stats, preprocess, labels))


class SampleViews(Dataset):
    """The sample photos, each whole and as four corner crops (``crop`` of each side).

    More views give the top-k searches and the embeddings more to choose from while the
    data stays bundled. Items are ``(image, label)`` with the photo's ImageNet label
    (``-1`` when unknown); :attr:`names` reads ``"chelsea"``, ``"chelsea (top left)"``.
    """

    CORNERS = ("top left", "top right", "bottom left", "bottom right")

    def __init__(self, preprocess: Any, crop: float = 0.6, corners: bool = True) -> None:
        from interpret.data import SamplePhotos

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

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.images[index], self.labels[index]


def _side(preprocess: Any, fallback: int) -> int:
    size = preprocess.size
    if size is None:
        return fallback
    return int(size if isinstance(size, int) else size[0])


def _fixed_size(preprocess: Any) -> Any:
    """``preprocess`` with a fixed size (scans batch images together)."""
    if preprocess.size is not None:
        return preprocess
    import dataclasses

    return dataclasses.replace(preprocess, size=224)
