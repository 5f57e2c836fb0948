"""The model a user names, ready to scan: weights, preprocessing, class names, key.

One resolver for the report, the command line and the Python API. It builds every model
through :func:`interpret.models.load_model` and adds what a scan and a report need.
Models are named by:

- ``"efficientnet_lite0"``: bundled ImageNet weights (no network);
- ``"zfnet"``: a small ZFNet trained on the bundled digits once per user and cached
  (:func:`interpret.models.cached.trained_zfnet_digits`); ``"zfnet_digits"`` is the same
  architecture with random weights;
- a torchvision or timm architecture name (``"resnet18"``, ``"timm:convnext_atto"``):
  random weights unless ``weights=`` names a checkpoint or ``pretrained=True`` asks the
  library for its own (which may need the network);
- ``"package.module:factory"``: ``factory()`` returns the model;
- a checkpoint file that names its architecture,
  ``torch.save({"arch": "resnet18", "state_dict": model.state_dict()}, path)``.

Every model carries a *key*, a hash of what determines its outputs (name, checkpoint
bytes, preprocessing), so saved results are reused only for the same model.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from interpret.core.factories import FACTORY_PATTERN
from interpret.models.cached import default_cache_dir, digest, file_digest, trained_zfnet_digits
from interpret.models.loading import (
    BUILTIN_MODELS,
    checkpoint_architecture,
    close_model_names,
    load_model,
)

__all__ = [
    "REPORT_MODELS",
    "LoadedModel",
    "model_classes",
    "resolve_device",
    "resolve_model",
]

REPORT_MODELS = ("efficientnet_lite0", "zfnet")
"""Names with trained weights that need no file and no network."""

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
_DEVICE_TYPES = ("cpu", "cuda", "mps")


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to scan, with how to feed it and how to name its outputs.

    Attributes
    ----------
    model:
        In eval mode, on :attr:`device`.
    name:
        What the user asked for (shown in the report).
    preprocess:
        An :class:`interpret.data.Preprocess` for its inputs.
    class_names:
        Names of the output classes in output order, or ``None``.
    key:
        Hash of the architecture, weights and preprocessing.
    default_data:
        Which bundled data suits it (``"samples"`` or ``"digits"``).
    notes:
        Caveats for the report (random weights, where class names came from, ...).
    class_names_from:
        ``"weights"``: the names belong to the trained weights (bundled, pretrained);
        ``"guess"``: ImageNet names assumed because the head has 1000 outputs;
        ``"data"``: taken from the data by :meth:`with_class_names`; ``None``: no names.
    device:
        Where the model's parameters are.
    """

    model: nn.Module
    name: str
    preprocess: Any
    class_names: tuple[str, ...] | None
    key: str
    default_data: str = "samples"
    notes: Sequence[str] = ()
    class_names_from: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def with_class_names(self, names: Sequence[str] | None) -> LoadedModel:
        """This model with the data's class names, when they can name its outputs.

        The data's names are taken when the model's last linear layer has exactly
        ``len(names)`` outputs and the model's own names did not come with its trained
        weights; otherwise the model is returned unchanged.

        Examples
        --------
        >>> m = resolve_model("interpret.testing:chain_cnn", image_size=32)
        >>> m.with_class_names(["a", "b", "c", "d", "e"]).class_names
        ('a', 'b', 'c', 'd', 'e')
        >>> m.with_class_names(["a", "b"]).class_names is None
        True
        """
        if not names or self.class_names_from == "weights":
            return self
        if model_classes(self.model) != len(names):
            return self
        note = f"Output classes named after the data's {len(names)} classes."
        return dataclasses.replace(
            self,
            class_names=tuple(str(n) for n in names),
            class_names_from="data",
            notes=(*self.notes, note),
        )


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The device that ``spec`` names: ``"auto"`` (CUDA when available, else CPU),
    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Raises
    ------
    ValueError
        An unknown device, or one this machine does not have (with what to use instead).

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if spec is None or spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in _DEVICE_TYPES:
        raise ValueError(
            f"Unknown device {spec!r}; give 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"Device {spec!r} asked for, but CUDA is not available here (torch "
                f"{torch.__version__}); use 'cpu', or 'auto' to take CUDA when present."
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"Device {spec!r} asked for, but this machine has {count} CUDA device(s): "
                f"use cuda:0 to cuda:{count - 1}."
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"Device {spec!r} asked for, but MPS is not available; use 'cpu'.")
    return device


def model_classes(model: nn.Module) -> int | None:
    """Outputs of the model's last linear layer (in module order), if it has one."""
    last = None
    for module in model.modules():
        if isinstance(module, nn.Linear):
            last = module
    return None if last is None else int(last.out_features)


def resolve_model(
    spec: str,
    weights: str | os.PathLike[str] | None = None,
    *,
    image_size: int = 224,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    device: str | torch.device | None = "cpu",
    cache_dir: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
    trained: bool = True,
    pretrained: bool = False,
) -> LoadedModel:
    """Build the model that ``spec`` names (see the module docstring).

    Parameters
    ----------
    spec:
        A model name, ``"package.module:factory"`` or a checkpoint file.
    weights:
        A checkpoint (state dict, or a dict holding one under ``"state_dict"``) loaded
        strictly into the model. A head of another size than the library default is
        built to fit the checkpoint.
    image_size, mean, std:
        Input size and normalization for models without their own convention
        (torchvision, timm, factories); ImageNet statistics by default.
    device:
        See :func:`resolve_device`; ``"auto"`` takes CUDA when available.
    cache_dir:
        Where trained artefacts are cached; ``None``: the user's cache
        (:func:`interpret.models.cached.default_cache_dir`).
    log:
        Called with one-line progress messages.
    trained:
        ``False`` skips training ``zfnet`` (enough to list its sites).
    pretrained:
        Ask torchvision / timm for their pretrained weights (may need the network);
        off by default so that the report runs offline.

    Raises
    ------
    ValueError
        Unknown name (with the closest known names), a factory that cannot be imported,
        a checkpoint that does not fit or names no architecture, an unknown device.
    FileNotFoundError
        A weights file that does not exist.

    Examples
    --------
    >>> m = resolve_model("resnet18", image_size=64)
    >>> m.notes[0], len(m.class_names), m.preprocess.size
    ('resnet18 has random weights (no weights given).', 1000, 64)
    """
    if not isinstance(spec, str) or not spec:
        raise TypeError(f"The model is given by a non-empty string, not {spec!r}.")
    target = resolve_device(device)
    if weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(f"No checkpoint file at {weights}.")
    if _is_checkpoint(spec):
        loaded = _from_checkpoint(spec, image_size, mean, std, cache_dir, log)
    elif spec in REPORT_MODELS or spec == "zfnet_digits":
        loaded = _bundled(spec, weights, cache_dir, log, trained)
    elif FACTORY_PATTERN.match(spec) and not spec.startswith("timm:"):
        model = load_model(spec, checkpoint=weights)
        preprocess = _user_preprocess(image_size, mean, std)
        key = digest(spec, preprocess, _weights_key(weights))
        loaded = LoadedModel(model, spec, preprocess, None, key)
    else:
        loaded = _architecture(spec, weights, image_size, mean, std, pretrained)
    loaded.model.to(target).eval()
    return dataclasses.replace(loaded, device=target)


def _is_checkpoint(spec: str) -> bool:
    path = Path(spec)
    if spec in REPORT_MODELS or spec in BUILTIN_MODELS or _known_architecture(spec):
        return False
    return path.is_file() or path.suffix in _CHECKPOINT_SUFFIXES


def _known_architecture(spec: str) -> bool:
    import timm
    import torchvision

    if spec.startswith("timm:"):
        return timm.is_model(spec.removeprefix("timm:"))
    return spec in torchvision.models.list_models() or timm.is_model(spec)


def _weights_key(weights: str | os.PathLike[str] | None) -> str | None:
    return None if weights is None else file_digest(weights)


def _from_checkpoint(
    spec: str,
    image_size: int,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    cache_dir: str | os.PathLike[str] | None,
    log: Callable[[str], None] | None,
) -> LoadedModel:
    if not Path(spec).is_file():
        raise FileNotFoundError(f"No checkpoint file at {spec}.")
    arch = checkpoint_architecture(spec)
    if arch is None:
        raise ValueError(
            f"Checkpoint {spec} does not name its architecture; pass --model ARCH "
            f"--weights {spec} instead (or save it as {{'arch': name, 'state_dict': ...}})."
        )
    if _is_checkpoint(arch):
        raise ValueError(f"Checkpoint {spec} names another file ({arch!r}), not a model.")
    loaded = resolve_model(
        arch, spec, image_size=image_size, mean=mean, std=std, cache_dir=cache_dir, log=log
    )
    return dataclasses.replace(loaded, name=spec, key=digest(spec, loaded.key))


def _bundled(
    spec: str,
    weights: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    log: Callable[[str], None] | None,
    trained: bool,
) -> LoadedModel:
    from interpret.data import EFFICIENTNET_LITE0, Digits, imagenet_labels

    if spec == "efficientnet_lite0":
        from interpret.models.efficientnet import bundled_weights_path

        model = load_model(spec, pretrained=weights is None, checkpoint=weights)
        key = digest(spec, file_digest(bundled_weights_path()), _weights_key(weights))
        if weights is None:
            classes, names_from = imagenet_labels(), "weights"
        else:
            classes, names_from = _fitting(imagenet_labels(), model)
        return LoadedModel(
            model, spec, EFFICIENTNET_LITE0, classes, key, class_names_from=names_from
        )
    preprocess, classes = Digits().preprocess, tuple(Digits.classes)
    if spec == "zfnet" and trained and weights is None:
        folder = cache_dir if cache_dir is not None else default_cache_dir()
        model, info = trained_zfnet_digits(folder, log=log)
        note = f"ZFNet trained on digits, test accuracy {info['test_accuracy']:.1%}."
        key = digest(spec, info["key"])
        return LoadedModel(model, spec, preprocess, classes, key, "digits", (note,), "weights")
    model = load_model("zfnet_digits", pretrained=False, checkpoint=weights)
    key = digest(spec, "untrained" if weights is None else file_digest(weights))
    notes = () if weights is not None else (f"{spec} has random weights (no weights given).",)
    names, names_from = _fitting(classes, model)
    return LoadedModel(model, spec, preprocess, names, key, "digits", notes, names_from)


def _fitting(names: tuple[str, ...], model: nn.Module) -> tuple[tuple[str, ...] | None, str | None]:
    """``(names, "guess")`` when the model has that many outputs, else ``(None, None)``."""
    return (names, "guess") if model_classes(model) == len(names) else (None, None)


def _architecture(
    spec: str,
    weights: str | os.PathLike[str] | None,
    image_size: int,
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    pretrained: bool,
) -> LoadedModel:
    if not _known_architecture(spec):
        raise _unknown_model(spec)
    library = pretrained and weights is None
    model = load_model(spec, pretrained=library, checkpoint=weights)
    classes: tuple[str, ...] | None = None
    names_from = None
    if library:
        from interpret.models.info import model_info

        info = model_info(spec)
        mean = info.preprocess.mean if mean is None else mean
        std = info.preprocess.std if std is None else std
        classes, names_from = (info.labels or None), "weights"
    preprocess = _user_preprocess(image_size, mean, std)
    if classes is None and model_classes(model) == 1000:
        from interpret.data import imagenet_labels

        classes, names_from = imagenet_labels(), "guess"
    key = digest(spec, preprocess, library, _weights_key(weights))
    notes = (
        ()
        if weights is not None or library
        else (f"{spec} has random weights (no weights given).",)
    )
    return LoadedModel(
        model, spec, preprocess, classes, key, notes=notes, class_names_from=names_from
    )


def _user_preprocess(
    image_size: int, mean: Sequence[float] | None, std: Sequence[float] | None
) -> Any:
    from interpret.data import IMAGENET, Preprocess

    return Preprocess(
        mean=tuple(mean) if mean is not None else IMAGENET.mean,
        std=tuple(std) if std is not None else IMAGENET.std,
        size=image_size,
        resize=round(image_size * 256 / 224),
        interpolation="bilinear",
    )


def _unknown_model(spec: str) -> ValueError:
    close = close_model_names(spec, REPORT_MODELS)[:4]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ValueError(
        f"Unknown model {spec!r}.{hint} Give efficientnet_lite0, zfnet, a torchvision or "
        "timm architecture name, package.module:factory, or a checkpoint file."
    )
