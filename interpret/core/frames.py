"""Shared pieces of every result's ``to_frame()``: long-form ``pandas.DataFrame`` tables.

Every result with a tabular side gives it through ``to_frame()`` (``docs/results.md``):
one row per measured entry, one column per key (``site``, ``channel``, ``image_index``,
``class_index`` ...) and per value, with ``image_name`` / ``class_name`` columns where the
result (or the caller, through ``image_names=`` / ``class_names=``) knows them. pandas is
imported here, inside the functions, so ``import interpret`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["column", "grid_keys", "image_columns", "import_pandas", "make_frame", "name_column"]


def import_pandas() -> Any:
    try:
        import pandas
    except ImportError as err:  # pragma: no cover - pandas is a dependency
        raise ImportError("to_frame() needs pandas; install it with `pip install pandas`.") from err
    return pandas


def column(values: Tensor | np.ndarray | Sequence[Any]) -> np.ndarray:
    """A flat NumPy column from a tensor (any shape, C order; bfloat16/half as float32)."""
    if isinstance(values, Tensor):
        t = values.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()
        return t.numpy().reshape(-1)
    return np.asarray(values).reshape(-1)


def grid_keys(shape: Sequence[int], names: Sequence[str]) -> dict[str, np.ndarray]:
    """Index columns naming every cell of ``shape`` in C order (the order of ``column``).

    ``grid_keys((2, 3), ("image_index", "channel"))`` gives two columns of 6 rows:
    ``image_index`` ``0 0 0 1 1 1`` and ``channel`` ``0 1 2 0 1 2``.
    """
    if len(shape) != len(names):
        raise ValueError(f"{len(names)} key names for a {len(shape)}-D grid {tuple(shape)}.")
    grids = np.indices(tuple(int(s) for s in shape)).reshape(len(shape), -1)
    return {name: grids[i].astype(np.int64) for i, name in enumerate(names)}


def name_column(ids: np.ndarray, names: Sequence[str] | None) -> np.ndarray | None:
    """``names[id]`` per row (``None`` for an id outside ``names``, e.g. ``-1``), or
    ``None`` when no names are known."""
    if names is None:
        return None
    names = list(names)
    out = np.empty(len(ids), dtype=object)
    for i, k in enumerate(ids.tolist()):
        out[i] = names[k] if 0 <= k < len(names) else None
    return out


def make_frame(columns: Mapping[str, Any], length: int) -> pd.DataFrame:
    """A ``length``-row ``DataFrame``; ``None`` columns are left out, scalars repeated."""
    pd = import_pandas()
    kept = {k: v for k, v in columns.items() if v is not None}
    return pd.DataFrame(kept, index=pd.RangeIndex(length))


def image_columns(
    image_index: Tensor,
    labels: Tensor | None,
    image_names: Sequence[str] | None,
    class_names: Sequence[str] | None,
) -> dict[str, np.ndarray | None]:
    """``image_index``, ``image_name``, ``class_index`` and ``class_name`` columns for rows
    that each come from one dataset image (``labels`` ``-1`` or ``None``: unlabelled)."""
    ids = column(image_index).astype(np.int64)
    classes = None if labels is None else column(labels).astype(np.int64)
    return {
        "image_index": ids,
        "image_name": name_column(ids, image_names),
        "class_index": classes,
        "class_name": None if classes is None else name_column(classes, class_names),
    }
