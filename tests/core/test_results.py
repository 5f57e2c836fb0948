from dataclasses import dataclass

import pytest
import torch
from torch import Tensor

from interpret.core import Result, atomic_write, load_result


@dataclass(frozen=True)
class Inner(Result):
    values: Tensor
    label: str


@dataclass(frozen=True)
class Outer(Result):
    inner: Inner
    table: dict
    sizes: tuple
    names: list
    scale: float
    missing: None = None


def test_round_trip_keeps_types_and_values(tmp_path):
    result = Outer(
        Inner(torch.arange(6.0).reshape(2, 3), "a<b>"),
        {"x": torch.ones(2), 3: "three"},
        (1, (2, 3)),
        ["p", torch.zeros(1)],
        0.5,
    )
    path = result.save(tmp_path / "sub" / "r.pt")
    loaded = Outer.load(path)
    assert isinstance(loaded.inner, Inner) and loaded.inner.label == "a<b>"
    assert torch.equal(loaded.inner.values, result.inner.values)
    assert loaded.sizes == (1, (2, 3))
    assert loaded.table[3] == "three" and torch.equal(loaded.table["x"], torch.ones(2))
    assert isinstance(loaded.names, list) and torch.equal(loaded.names[1], torch.zeros(1))
    assert isinstance(load_result(path), Outer)
    with pytest.raises(TypeError, match="not a Inner"):
        Inner.load(path)
    assert list(tmp_path.glob("sub/.*tmp")) == []


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "x.pt"

    def explode(tmp):
        with open(tmp, "w") as handle:
            handle.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, explode)
    assert list(tmp_path.iterdir()) == []


def test_unsavable_field_and_bad_files(tmp_path):
    import numpy as np

    @dataclass(frozen=True)
    class Bad(Result):
        array: object

    with pytest.raises(TypeError, match="Cannot save a ndarray"):
        Bad(np.zeros(2)).save(tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()
    with pytest.raises(ValueError, match="No saved result"):
        load_result(tmp_path / "nothing.pt")
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a result saved by interpret"):
        load_result(tmp_path / "other.pt")


def test_html_repr_lists_fields_escaped():
    text = Inner(torch.zeros(2, 3), "<script>")._repr_html_()
    assert "<code>values</code>" in text and "tensor (2, 3) float32" in text
    assert "<script>" not in text and "&lt;script&gt;" in text
