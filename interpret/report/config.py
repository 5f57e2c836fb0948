"""What a report is made from: the model, the data, the analyzers and their parameters.

A :class:`ReportConfig` holds everything the ``interpret report`` flags hold; a config
file (TOML or YAML) can hold the same keys::

    # report.toml
    out = "report"
    model = "resnet18"                # a name, "package.module:factory", or a checkpoint
    weights = "runs/best.pt"          # optional state dict for the model
    data = ["photos/"]                # a class folder, labels.csv, module:factory, image files
    analyzers = ["summary", "deconvnet", "occlusion"]
    device = "auto"                   # CUDA when available, else CPU
    batch_size = 32
    image_size = 224                  # input side for user models (default 224)
    max_images = 2000                 # a stratified sample over the classes
    extras = ["digits"]               # bundled demos besides your model (default: none)

    [sections.occlusion]              # per-section parameters (see each section's params)
    window = 48
    stride = 16

Flags given on the command line override the file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interpret.core.factories import FACTORY_PATTERN

__all__ = ["DEFAULT_MODEL", "EXTRAS", "ReportConfig", "load_config_file"]

DEFAULT_MODEL = "efficientnet_lite0"
"""The embedded default model (bundled ImageNet weights)."""
EXTRAS = ("digits", "faces")
"""Bundled demos a report can carry besides the user's model."""


@dataclass(frozen=True)
class ReportConfig:
    """The inputs of one report.

    Attributes
    ----------
    out:
        Output folder; written atomically (built beside it, renamed into place).
    model:
        ``None`` for the embedded default (the bundled EfficientNet-Lite0 with ImageNet
        weights); ``"efficientnet_lite0"``, ``"zfnet"`` (ZFNet trained on the bundled
        digits), a torchvision or timm architecture name (random weights unless
        ``weights`` is given), ``"package.module:factory"`` (a callable returning an
        ``nn.Module``) or the path of a checkpoint that names its architecture.
    weights:
        Optional checkpoint (a state dict) loaded into the model with
        ``torch.load(weights_only=True)``.
    data:
        ``None`` for the model's bundled data (sample photos, or digits for ZFNet);
        otherwise one folder (searched recursively; class subfolders give the labels), a
        CSV file ``path,label[,attributes...]``, ``"package.module:factory"`` returning a
        Dataset of ``(image, label)``, image files, or one of ``"samples"``, ``"digits"``,
        ``"faces"``.
    analyzers:
        Section names to run (``None``: all that apply); see
        :func:`interpret.report.sections.available`.
    device:
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:1"``;
        the model is moved there.
    batch_size:
        Batch size of every scan.
    image_size:
        Input side for user models (torchvision, timm, factories); the bundled models
        know their own.
    mean, std:
        Input normalisation for user models (default ImageNet's).
    max_images:
        Use at most this many images of the data: a stratified sample over its classes
        (seeded by ``seed``); ``None`` for all.
    skip_bad_images:
        Skip (and count) images that cannot be read instead of stopping with an error.
    extras:
        Bundled demos shown besides the user's model: ``"digits"`` (a ZFNet trained on
        the bundled digits: the switch deconvnet, digit selectivity, probes and
        maximization) and ``"faces"`` (the main model on faces versus non-faces).
        ``None`` (default): both for the embedded default report (no ``model`` and no
        ``data`` given), none otherwise: a report is about the model and data given.
    sections:
        Per-section parameter overrides, ``{"occlusion": {"window": 48}}``.
    seed:
        Seed for every random choice the report makes.
    progress:
        Show progress bars.
    command:
        The command line that asked for the report (recorded in its header).
    """

    out: Path | None = None
    model: str | None = None
    weights: str | None = None
    data: tuple[str, ...] | None = None
    analyzers: tuple[str, ...] | None = None
    device: str = "auto"
    batch_size: int = 32
    image_size: int = 224
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    max_images: int | None = None
    skip_bad_images: bool = False
    extras: tuple[str, ...] | None = None
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    seed: int = 0
    progress: bool = True
    command: str = ""

    def __post_init__(self) -> None:
        if self.out is not None and not isinstance(self.out, Path):
            object.__setattr__(self, "out", Path(self.out))
        if isinstance(self.data, (str, os.PathLike)):
            object.__setattr__(self, "data", (str(self.data),))
        elif self.data is not None:
            object.__setattr__(self, "data", tuple(str(d) for d in self.data))
            if not self.data:
                object.__setattr__(self, "data", None)
        if isinstance(self.analyzers, str):
            object.__setattr__(self, "analyzers", _split_names(self.analyzers))
        elif self.analyzers is not None:
            names: list[str] = []
            for item in self.analyzers:
                names.extend(_split_names(str(item)))
            object.__setattr__(self, "analyzers", tuple(names))
        if self.model is not None and (not isinstance(self.model, str) or not self.model):
            raise TypeError(f"model must be a non-empty string or None, got {self.model!r}.")
        if not isinstance(self.device, str) or not self.device:
            raise TypeError(
                f"device must be a string such as 'auto' or 'cpu', not {self.device!r}."
            )
        if self.max_images is not None and (
            isinstance(self.max_images, bool)
            or not isinstance(self.max_images, int)
            or self.max_images < 1
        ):
            raise ValueError(f"max_images must be a positive int, got {self.max_images!r}.")
        if self.extras is not None:
            extras = (self.extras,) if isinstance(self.extras, str) else tuple(self.extras)
            extras = tuple(n for item in extras for n in _split_names(str(item)))
            unknown = sorted(set(extras) - set(EXTRAS))
            if unknown:
                raise ValueError(
                    f"Unknown extra(s) {', '.join(unknown)}; extras are {', '.join(EXTRAS)}."
                )
            object.__setattr__(self, "extras", extras)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {self.batch_size!r}.")
        if not isinstance(self.image_size, int) or self.image_size < 8:
            raise ValueError(f"image_size must be an int >= 8, got {self.image_size!r}.")
        if not isinstance(self.seed, int):
            raise TypeError(f"seed must be an int, got {self.seed!r}.")
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(float(v) for v in value))
        if not isinstance(self.sections, Mapping) or not all(
            isinstance(v, Mapping) for v in self.sections.values()
        ):
            raise TypeError(
                "sections must map section names to tables of parameters, e.g. "
                "[sections.occlusion] window = 48."
            )
        object.__setattr__(self, "sections", {str(k): dict(v) for k, v in self.sections.items()})

    @property
    def is_default(self) -> bool:
        """Whether this is the embedded default report (no model and no data named)."""
        return self.model is None and self.data is None and self.weights is None

    @property
    def model_name(self) -> str:
        """The model to resolve (the bundled EfficientNet-Lite0 when none is named)."""
        return self.model if self.model is not None else DEFAULT_MODEL

    def wants(self, extra: str) -> bool:
        """Whether the bundled extra ``"digits"`` or ``"faces"`` is part of this report."""
        if extra not in EXTRAS:
            raise ValueError(f"Unknown extra {extra!r}; extras are {', '.join(EXTRAS)}.")
        return extra in self.extras if self.extras is not None else self.is_default

    def replace(self, **changes: Any) -> ReportConfig:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def section_params(self, name: str) -> dict[str, Any]:
        """The overrides given for section ``name`` (empty if none)."""
        return dict(self.sections.get(name, {}))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], base: Path | None = None) -> ReportConfig:
        """Build from a parsed config file; relative paths are taken from ``base``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"Unknown config key(s) {', '.join(unknown)}; known keys: "
                f"{', '.join(sorted(known - {'command'}))}."
            )
        values = dict(values)
        if base is not None:
            for key in ("out", "weights"):
                if isinstance(values.get(key), str):
                    values[key] = str(_relative_to(base, values[key]))
            if values.get("data") is not None:
                data = values["data"]
                data = [data] if isinstance(data, str) else list(data)
                values["data"] = [
                    d
                    if d in ("samples", "digits", "faces") or FACTORY_PATTERN.match(d)
                    else str(_relative_to(base, d))
                    for d in data
                ]
        try:
            return cls(**values)
        except TypeError as err:
            raise TypeError(f"Bad config value: {err}") from None


def _relative_to(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _split_names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) config file into a dict.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not valid TOML/YAML, has another extension, or is not a table.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No config file at {path}.")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            values: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path} is not valid TOML: {err}") from None
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ModuleNotFoundError:
            raise ValueError(
                f"Reading {path} needs PyYAML (pip install pyyaml), or use a TOML config."
            ) from None
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"{path} is not valid YAML: {err}") from None
        values = {} if values is None else values
    else:
        raise ValueError(f"Config files are .toml, .yaml or .yml; got {path.name}.")
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a table of keys, not a {type(values).__name__}.")
    return values


def as_sequence(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """``None``, one string or several, as a tuple of strings."""
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)
