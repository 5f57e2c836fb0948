"""The hot paths never wait on the host: synchronizing calls counted per batch, on CPU.

On a GPU every ``.item()``, ``.tolist()``, ``bool(tensor)``, ``.cpu()``, ``.nonzero()``
or boolean-mask index inside a batch stalls the device until its queue drains. This
machine has no GPU, so the property is checked by counting those calls: a
``TorchFunctionMode`` sees every tensor method and torch function the library calls.
Each path runs twice, over few and over many batches (or steps); the difference divided
by the extra batches is the per-batch count, so one-off work (binding sites on the first
batch, ``result()``, reading a flag at the end) does not count, only the loop does.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree
from torch.utils.data import TensorDataset

import interpret
from interpret.core import ActivationStats
from interpret.deconvnet import TopActivations, project_units
from interpret.embeddings import ImageEmbeddings, IncrementalPCA, PatchEmbeddings
from interpret.filters import FilterActivity
from interpret.neurons import Selectivity, channel, maximize, preset
from interpret.occlusion import Occluder, occlusion_sensitivity
from interpret.probes import FeatureCollector
from interpret.testing import chain_cnn

# calls that make the host wait for the device (a copy to the host, a value read on the
# host, or an output whose shape depends on the values)
_ALWAYS = {
    "item",
    "tolist",
    "numpy",
    "cpu",
    "nonzero",
    "argwhere",
    "masked_select",
    "unique",
    "unique_consecutive",
    "equal",
    "allclose",
    "__bool__",
    "__int__",
    "__float__",
    "__index__",
    "__complex__",
}


def _is_host_name(value: Any) -> bool:
    """A copy named to the host: ``"cpu"`` (a string). Code moving a tensor to the working
    device passes a ``torch.device`` (here the CPU as well), which is not a host copy."""
    return isinstance(value, str) and value.split(":")[0] == "cpu"


def _has_bool_mask(index: Any) -> bool:
    items = index if isinstance(index, (tuple, list)) else (index,)
    return any(isinstance(i, Tensor) and i.dtype == torch.bool for i in items)


_FACTORIES = {
    "tensor", "as_tensor", "from_numpy", "arange", "zeros", "ones", "full", "empty",
    "rand", "randn", "randint", "randperm", "linspace", "eye", "normal",
}  # fmt: skip


class SyncCounter(TorchFunctionMode):
    """Counts synchronizing calls by name while active (``counts``: a Counter).

    This machine's device is the CPU, so *where* a tensor would live on a GPU is
    tracked alongside: a tensor is host data when a factory made it without a
    ``device=`` (``torch.arange(n)``, ``torch.tensor(units)``, a collated batch before
    ``scan`` moves it), when a host generator drew it, when it was copied to ``"cpu"``,
    or when every tensor it was computed from is host data; ``.to(device)`` makes it
    device data. Reading host data costs a GPU nothing and is not counted; every
    read of device data is.
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self.host: dict[int, weakref.ref] = {}  # id -> tensor (tensors compare by value)

    def _is_host(self, tensor: Tensor) -> bool:
        ref = self.host.get(id(tensor))
        return ref is not None and ref() is tensor

    def _on_device(self, *values: Any) -> bool:
        return any(isinstance(v, Tensor) and not self._is_host(v) for v in values)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        tensors = [v for v in pytree.tree_leaves((args, kwargs)) if isinstance(v, Tensor)]
        device_kwarg = kwargs.get("device")
        to_host_copy = name == "cpu" or (
            name == "to"
            and (any(_is_host_name(a) for a in args[1:]) or _is_host_name(device_kwarg))
        )
        if name in _ALWAYS and self._on_device(*tensors):
            self.counts[name] += 1
        elif to_host_copy and self._on_device(args[0]) and not kwargs.get("non_blocking", False):
            self.counts["to(cpu)"] += 1
        elif name in ("__getitem__", "__setitem__", "index_put_", "index_put") and (
            len(args) > 1 and _has_bool_mask(args[1]) and self._on_device(*tensors)
        ):
            self.counts[f"{name}[bool mask]"] += 1
        out = func(*args, **kwargs)
        moved = name == "to" and (
            any(isinstance(a, torch.device) for a in args[1:])
            or isinstance(device_kwarg, torch.device)
        )
        if (to_host_copy or (moved and self._is_host(args[0]))) and out is args[0]:
            out = out.clone()  # on a GPU a copy is a new tensor; the source stays where it is
        if to_host_copy:
            host = True
        elif moved:
            host = False
        elif name in _FACTORIES and device_kwarg is None:
            host = True
        else:
            host = bool(tensors) and not self._on_device(*tensors)
        for leaf in pytree.tree_leaves(out):
            if isinstance(leaf, Tensor):
                if host:
                    self.host[id(leaf)] = weakref.ref(leaf)
                else:
                    self.host.pop(id(leaf), None)
        return out


def per_batch(run: Callable[[int], Any], few: int, many: int) -> tuple[float, Counter[str]]:
    """Synchronizing calls per extra batch between ``run(few)`` and ``run(many)``."""
    counts = []
    for n in (few, many):
        with SyncCounter() as counter:
            run(n)
        counts.append(counter.counts)
    extra = counts[1].copy()
    extra.subtract(counts[0])
    return sum(extra.values()) / (many - few), +extra


def test_the_counter_sees_every_kind_of_synchronizing_call():
    with SyncCounter() as counter:
        x = torch.arange(6.0).to(torch.device("cpu"))  # device data
        host = torch.arange(6.0)  # host data: reading it is free
        host.tolist()
        int(host.max())
        x[0].item()
        x.tolist()
        bool(x[1] > 0)
        x.cpu()
        x.to("cpu")
        x.nonzero()
        x.numpy()
        x[x > 2]
        int(x[2])
        x.to(torch.float64)  # not a sync
        x.amax()  # not a sync
    assert sum(counter.counts.values()) == 9, counter.counts


# ---- scan with every analyzer ----------------------------------------------------------

_BATCH = 4
_CLASSES = 3


def _data() -> TensorDataset:
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(6 * _BATCH, 3, 28, 28, generator=gen)
    labels = torch.arange(6 * _BATCH) % _CLASSES
    return TensorDataset(images, labels)


ANALYZERS: dict[str, Callable[[], Any]] = {
    "ActivationStats": lambda: ActivationStats(["features.1", "features.4"], k=3),
    "TopActivations": lambda: TopActivations("features.4", k=3),
    "TopActivations-positions": lambda: TopActivations("features.4", k=3, distinct_images=False),
    "Selectivity": lambda: Selectivity("features.4", classes=_CLASSES, sample=8),
    "Selectivity-fixed-edges": lambda: Selectivity(
        "features.4", classes=_CLASSES, edges=(0.0, 4.0)
    ),
    "FilterActivity": lambda: FilterActivity("features.4"),
    "FeatureCollector": lambda: FeatureCollector(["features.4"]),
    "PatchEmbeddings": lambda: PatchEmbeddings("features.4", max_patches=16, thumbnail_size=None),
    "ImageEmbeddings": lambda: ImageEmbeddings("features.4"),
    "IncrementalPCA": lambda: IncrementalPCA(2, site="features.4"),
}

# Per-batch budgets. 0 everywhere: what must reach the host is read once per scan (or
# every `FINITE_CHECK_EVERY` batches), never per batch.
SCAN_BUDGET = {name: 0 for name in ANALYZERS}


@pytest.mark.parametrize("name", sorted(ANALYZERS))
def test_scan_update_does_not_synchronize_per_batch(name):
    net, data = chain_cnn(), _data()

    def run(batches: int) -> None:
        interpret.scan(
            net,
            data,
            [ANALYZERS[name]()],
            batch_size=_BATCH,
            progress=False,
            indices=range(batches * _BATCH),
        )

    count, kinds = per_batch(run, 2, 6)
    assert count <= SCAN_BUDGET[name], f"{name}: {count:g} synchronizing calls per batch {kinds}"


# ---- occlusion sweep, batched projections, activation maximization ----------------------


def test_occlusion_sweep_does_not_synchronize_per_batch():
    net = chain_cnn()
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(3, 3, 20, 20, generator=gen)

    def run(n_images: int) -> None:  # 16 positions per image, 4 copies per forward
        occlusion_sensitivity(net, images[:n_images], Occluder(8, 4), batch_size=4)

    count, kinds = per_batch(lambda n: run(n // 4), 4, 12)
    assert count <= 0, f"occlusion: {count:g} synchronizing calls per batch {kinds}"


def test_batched_projection_does_not_synchronize_per_batch():
    net = chain_cnn().double()
    images = torch.randn(3, 3, 23, 31, generator=torch.Generator().manual_seed(2)).double()

    def run(batches: int) -> None:
        units = torch.tensor([[i % 3, i % 5, 1 + i % 3, 2] for i in range(2 * batches)])
        project_units(net, images, "features.4", units, batch_size=2)

    count, kinds = per_batch(run, 2, 6)
    assert count <= 0, f"project: {count:g} synchronizing calls per batch {kinds}"


def test_maximize_step_does_not_synchronize():
    net = chain_cnn()

    def run(steps: int) -> None:
        config = preset("lucid", size=24, steps=steps)
        maximize(net, channel("features.3", [0, 1]), normalize=None, config=config)

    count, kinds = per_batch(run, 4, 12)
    assert count <= 0, f"maximize: {count:g} synchronizing calls per step {kinds}"


# ---- what must reach the host still does, once -----------------------------------------


@pytest.mark.parametrize("bad_image", [9, 4 * 40 + 1])
def test_nan_input_is_refused_naming_its_batch(bad_image):
    """The input check runs on the device and is read every FINITE_CHECK_EVERY batches
    and at the end: the error still names the first bad batch, and a later analyzer
    failure caused by it is explained by it."""
    from interpret.core.scan import FINITE_CHECK_EVERY

    assert FINITE_CHECK_EVERY < 40
    images = torch.randn(4 * 45, 3, 28, 28, generator=torch.Generator().manual_seed(4))
    images[bad_image, 1, 2, 3] = float("nan")
    batch = bad_image // 4 + 1
    with pytest.raises(ValueError, match=f"Batch {batch} .*NaN or infinite.*allow_nonfinite"):
        interpret.scan(
            chain_cnn(), TensorDataset(images), [FilterActivity("features.1")], batch_size=4,
            progress=False,
        )  # fmt: skip
    clean = images[:128].nan_to_num()
    with SyncCounter() as counter:  # read once per FINITE_CHECK_EVERY batches, not per batch
        interpret.scan(
            chain_cnn(), TensorDataset(clean), [FilterActivity("features.1")], batch_size=4,
            progress=False,
        )  # fmt: skip
    assert counter.counts["__int__"] <= 32 // FINITE_CHECK_EVERY + 2, counter.counts
