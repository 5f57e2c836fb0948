"""Adaptive (power-of-two) histogram edges: re-binning as the range grows is exact, and
the result depends only on the data, not on its order or split."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from interpret.neurons.selectivity._grid import DyadicGrid, apply_map


def stream(grid: DyadicGrid, hist: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    mapping = grid.extend(batch.amin(0), batch.amax(0))
    if mapping is not None:
        hist = apply_map(hist, mapping)
    bins = grid.bin(batch)  # (N, D)
    for j in range(batch.shape[1]):
        hist[0, j] += torch.bincount(bins[:, j], minlength=hist.shape[-1])
    return hist


def direct(values: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    out = torch.zeros((values.shape[1], edges.shape[1] + 1), dtype=torch.int64)
    for j in range(values.shape[1]):
        for v in values[:, j].tolist():
            e = edges[j].tolist()
            if v < e[0]:
                out[j, 0] += 1
            elif v >= e[-1]:
                out[j, -1] += 1
            else:
                out[j, next(i for i in range(1, len(e)) if e[i - 1] <= v < e[i])] += 1
    return out


values_st = st.lists(
    st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False, width=32),
        st.sampled_from([0.0, -0.0, 1e-30, -3.5, 1e20]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(values=values_st, cuts=st.lists(st.integers(1, 40), max_size=5), bins=st.integers(2, 9))
def test_streamed_histogram_equals_binning_with_the_final_edges(values, cuts, bins) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    data = torch.stack([x, -x, torch.zeros_like(x)], 1)  # mirrored and a constant neuron
    grid = DyadicGrid(3, bins, torch.device("cpu"))
    hist = torch.zeros((1, 3, bins + 2), dtype=torch.int64)
    bounds = sorted({0, len(x), *[c for c in cuts if c < len(x)]})
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        hist = stream(grid, hist, data[lo:hi])
    edges = grid.edges()
    assert torch.equal(hist[0], direct(data, edges))
    assert int(hist[0, :, 0].sum() + hist[0, :, -1].sum()) == 0
    # the grid depends only on the range: one batch of the reversed data gives the same
    other = DyadicGrid(3, bins, torch.device("cpu"))
    other.extend(data.flip(0).amin(0), data.flip(0).amax(0))
    assert torch.equal(other.edges(), edges)
    width = edges[:, 1] - edges[:, 0]
    assert bool((width > 0).all()) and torch.equal(torch.log2(width), torch.log2(width).round())


def test_a_silent_neuron_that_wakes_up() -> None:
    grid = DyadicGrid(1, 8, torch.device("cpu"))
    hist = torch.zeros((1, 1, 10), dtype=torch.int64)
    zeros = torch.zeros(50, 1, dtype=torch.float64)
    hist = stream(grid, hist, zeros)
    assert float(grid.edges()[0, 0]) == 0.0 and float(grid.edges()[0, 1]) < 1e-250
    late = torch.tensor([[3.0], [7.9], [-2.0]], dtype=torch.float64)
    hist = stream(grid, hist, late)
    assert torch.equal(hist[0], direct(torch.cat([zeros, late]), grid.edges()))
    assert grid.edges()[0].tolist() == [-2.0, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]
