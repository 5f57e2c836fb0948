"""The shared inputs of one report run: sources (model + data), sites, cache, log.

Sources are built lazily and once: ``"main"`` (the user's model on the user's data, by
default the bundled EfficientNet-Lite0 on the sample photos), and the bundled extras of
the default report: ``"digits"`` (a small ZFNet trained on the bundled digits, cached
once per user) and ``"faces"`` (the main model on faces versus non-faces).

Classes: the data's labels are matched to the model's outputs by name (a folder named
``tabby`` is ImageNet's output 281), or, for a model with no output names whose output
count equals the data's class count, output ``i`` takes the name of data class ``i``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from interpret.core.digests import digest
from interpret.core.feature_sites import feature_sites
from interpret.data.resolve import DataSource, resolve_data
from interpret.models.cached import default_cache_dir, trained_zfnet_digits, zfnet_digits_key
from interpret.models.resolve import LoadedModel, resolve_device, resolve_model
from interpret.report.config import ReportConfig

__all__ = ["ReportContext", "Source"]

_KNOWN_SITES = {
    "efficientnet_lite0": [
        "blocks.1",
        "blocks.2",
        "blocks.3",
        "blocks.4",
        "blocks.5",
        "blocks.6",
        "bn2",
    ],
    "zfnet": ["features.1", "features.5", "features.9", "features.11", "features.13"],
}
FACES_SIZE = 128
"""Side at which the 25x25 LFW faces are fed to the main model."""


@dataclass
class Source:
    """A model and a dataset scanned together."""

    name: str
    model: LoadedModel
    data: DataSource

    @property
    def key(self) -> str:
        return digest(self.model.key, self.data.key)


class ReportContext:
    """Everything a section may use: the config, the sources, sites, cache and log.

    Parameters
    ----------
    config:
        The report's inputs.
    cache_dir:
        Where trained models and other reusable artefacts are kept (default: the user's
        cache, :func:`~interpret.models.cached.default_cache_dir`).
    log:
        Called with one-line progress messages.
    """

    def __init__(
        self,
        config: ReportConfig,
        cache_dir: Path | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.log = log if log is not None else (lambda message: None)
        self.device = resolve_device(config.device)
        self._sources: dict[str, Source] = {}
        self._sites: dict[str, list[str]] = {}
        self._outputs: dict[str, int | None] = {}
        self.timings: dict[str, float] = {}
        self.cpu_timings: dict[str, float] = {}
        self._stages: list[str] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage of the run; its wall time goes to :attr:`timings` and the log, the
        process CPU time (all threads, :func:`time.process_time`) to :attr:`cpu_timings`
        (on a shared machine wall time stretches with other jobs; CPU time much less).

        A stage inside another is named ``"outer / inner"`` (its time is part of the
        outer one's)."""
        name = " / ".join([*self._stages, name])
        self._stages.append(name.rpartition(" / ")[2])
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self._stages.pop()
        seconds = time.perf_counter() - start
        self.timings[name] = self.timings.get(name, 0.0) + seconds
        cpu = time.process_time() - cpu_start
        self.cpu_timings[name] = self.cpu_timings.get(name, 0.0) + cpu
        if seconds >= 1.0:
            self.log(f"{name}: {seconds:.1f} s")

    # -- sources ---------------------------------------------------------------------------
    def source(self, name: str) -> Source:
        """The source ``name`` (``"main"``, ``"digits"`` or ``"faces"``), built on first use."""
        if name not in self._sources:
            self._sources[name] = self._build(name)
        return self._sources[name]

    def _build(self, name: str) -> Source:
        cfg = self.config
        if name == "main":
            with self.stage("load model"):
                model = resolve_model(
                    cfg.model_name,
                    cfg.weights,
                    image_size=cfg.image_size,
                    mean=cfg.mean,
                    std=cfg.std,
                    device=self.device,
                    cache_dir=self.cache_dir,
                    log=self.log,
                )
            with self.stage("load data"):
                data = resolve_data(
                    cfg.data,
                    model.preprocess,
                    model.default_data,
                    max_images=cfg.max_images,
                    seed=cfg.seed,
                    skip_bad_images=cfg.skip_bad_images,
                )
            if data.skipped:
                self.log(f"skipped {len(data.skipped)} unreadable image(s): {data.skipped[0]}, ...")
            return Source("main", self._name_outputs(model, data), data)
        if name == "digits":
            if cfg.model_name == "zfnet" and cfg.weights is None:
                model = self.source("main").model
            else:
                from interpret.data import Digits

                with self.stage("train ZFNet on digits"):
                    net, info = trained_zfnet_digits(self.cache_dir, log=self.log)
                note = f"ZFNet trained on digits, test accuracy {info['test_accuracy']:.1%}."
                model = LoadedModel(
                    net.to(self.device),
                    "zfnet",
                    Digits().preprocess,
                    Digits.classes,
                    self.source_key("digits"),
                    "digits",
                    (note,),
                    "weights",
                    self.device,
                )
            return Source("digits", model, resolve_data(["digits"], model.preprocess))
        if name == "faces":
            import dataclasses

            main = self.source("main").model
            small = dataclasses.replace(main.preprocess, size=FACES_SIZE, resize=None)
            return Source("faces", main, resolve_data(["faces"], small))
        raise ValueError(f"Unknown source {name!r}; sources are main, digits, faces.")

    def _name_outputs(self, model: LoadedModel, data: DataSource) -> LoadedModel:
        """Name a model's outputs by the data's classes when it returns that many scores."""
        self._outputs["main"] = self._count_outputs(model, data)
        if not data.class_names or self._outputs["main"] != len(data.class_names):
            return model
        return model.with_class_names(data.class_names)

    def source_key(self, name: str) -> str:
        """A hash of what determines the source's numbers, without building it if avoidable."""

        own_zfnet = self.config.model_name == "zfnet" and self.config.weights is None
        if name == "digits" and not own_zfnet:
            return zfnet_digits_key()
        if name == "faces":
            return digest("faces", self.source("main").model.key)
        return self.source(name).key

    def has_rgb_model(self) -> bool:
        """Whether the main model takes three-channel images."""
        return self.source("main").model.preprocess.channels == 3

    def has_classes(self, name: str = "main") -> bool:
        """Whether the source's model output has class names."""
        return self.source(name).model.class_names is not None

    # -- outputs and labels ----------------------------------------------------------------
    def _count_outputs(self, model: LoadedModel, data: DataSource) -> int | None:
        from interpret.core import checked_forward
        from interpret.core.state import preserved_state

        example = data.dataset[0][0][None].to(self.device)
        with preserved_state(model.model), torch.inference_mode():
            model.model.eval()
            output = checked_forward(model.model, example)
        if isinstance(output, torch.Tensor) and output.ndim == 2 and output.shape[1] >= 2:
            return int(output.shape[1])
        return None

    def num_outputs(self, name: str = "main") -> int | None:
        """Number of class scores the source's model returns, ``None`` if its output is
        not ``(N, K)`` scores (a feature extractor, a dict, a segmentation map)."""
        if name not in self._outputs:
            src = self.source(name)
            self._outputs[name] = self._count_outputs(src.model, src.data)
        return self._outputs[name]

    def data_classes(self, name: str = "main") -> tuple[str, ...]:
        """The data's class names (empty for unlabelled data)."""
        return tuple(self.source(name).data.class_names or ())

    def label_outputs(self, name: str = "main") -> list[int] | None:
        """For data label ``i``, the model output that stands for it; ``None`` if the data's
        classes are not outputs of the model (or the data has no labels)."""
        classes = self.data_classes(name)
        outputs = self.source(name).model.class_names
        if not classes or outputs is None or self.num_outputs(name) is None:
            return None
        lookup = {n: i for i, n in enumerate(outputs)}
        if not all(c in lookup for c in classes):
            return None
        return [lookup[c] for c in classes]

    def class_skip_reason(self, name: str = "main", needs: str = "labels") -> str | None:
        """Why a section that needs class scores (``needs="outputs"``) or two labelled
        classes (``needs="labels"``) cannot run on the source, ``None`` if it can."""
        if needs == "outputs":
            if self.num_outputs(name) is None:
                return "the model's output is not class scores (N, K)"
            return None
        classes = self.data_classes(name)
        if len(classes) < 2:
            got = f"one class ({classes[0]})" if classes else "no labels"
            return (
                f"needs labelled data with at least two classes, and the data has {got}; "
                "give a folder of class subfolders or a labels CSV"
            )
        return None

    # -- sites -----------------------------------------------------------------------------
    def sites(self, name: str = "main") -> list[str]:
        """Feature sites of the source's model with ``(N, C, h, w)`` outputs, shallow to deep."""
        if name not in self._sites:
            src = self.source(name)
            known = _KNOWN_SITES.get(src.model.name)
            if known is None and name == "digits":
                known = _KNOWN_SITES["zfnet"]
            if known is not None:
                self._sites[name] = list(known)
            else:
                example = src.data.dataset[0][0]
                self._sites[name] = feature_sites(src.model.model, example)
            if not self._sites[name]:
                raise ValueError(
                    f"Found no convolutional sites in {src.model.name}; choose sites in the "
                    "config ([sections.<name>] sites = [...])."
                )
        return self._sites[name]

    def pick_sites(self, name: str, fractions: tuple[float, ...]) -> list[str]:
        """Sites at the given relative depths (0 = first, 1 = last), without repeats."""
        sites = self.sites(name)
        chosen = [sites[round(f * (len(sites) - 1))] for f in fractions]
        return list(dict.fromkeys(chosen))

    def generator(self, offset: int = 0) -> torch.Generator:
        """A fresh generator seeded with ``config.seed + offset``."""
        return torch.Generator().manual_seed(self.config.seed + offset)

    def class_name(self, name: str, index: int) -> str:
        """Name of output class ``index`` of the source's model (or ``class <index>``)."""
        names = self.source(name).model.class_names
        return names[index] if names is not None and 0 <= index < len(names) else f"class {index}"
