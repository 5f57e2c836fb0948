import pytest
import torch

from interpret.core import Histogram, Reservoir, RunningMoments, TopK, uniform_keys

GEN = torch.Generator().manual_seed(0)


def _shards(x: torch.Tensor, cuts: list[int]) -> list[torch.Tensor]:
    bounds = [0, *cuts, len(x)]
    return [x[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def test_moments_match_direct_and_merge():
    x = torch.randn(101, 3, 2, generator=GEN, dtype=torch.float64) * 3 + 1
    whole = RunningMoments((3, 2))
    for part in _shards(x, [10, 11, 60]):
        whole.update(part)
    torch.testing.assert_close(whole.mean, x.mean(0))
    torch.testing.assert_close(whole.variance, x.var(0, unbiased=False))
    torch.testing.assert_close(whole.min, x.amin(0))
    torch.testing.assert_close(whole.max, x.amax(0))
    left, right = RunningMoments((3, 2)), RunningMoments((3, 2))
    left.update(x[:40])
    right.update(x[40:])
    left.merge(right)
    assert left.count == 101
    torch.testing.assert_close(left.mean, whole.mean)
    torch.testing.assert_close(left.m2, whole.m2)


def test_histogram_counts_match_numpy_style_binning_and_merge_exactly():
    x = torch.randn(500, 4, generator=GEN)
    edges = torch.linspace(-2, 2, 9)
    hist = Histogram(edges, (4,))
    hist.update(x[:123])
    other = Histogram(edges, (4,))
    other.update(x[123:])
    hist.merge(other)
    for c in range(4):
        col = x[:, c].double()
        expected = [int((col < -2).sum())]
        for lo, hi in zip(edges[:-1], edges[1:]):
            expected.append(int(((col >= lo) & (col < hi)).sum()))
        expected.append(int((col >= 2).sum()))
        assert hist.counts[c].tolist() == expected
    assert int(hist.counts.sum()) == x.numel()


def test_histogram_rejects_bad_edges():
    with pytest.raises(ValueError, match="strictly increasing"):
        Histogram(torch.tensor([0.0, 0.0, 1.0]))


def _sorted_reference(acts: torch.Tensor, k: int, distinct: bool):
    """Sort every activation of every channel (the definition of top-k)."""
    n, c = acts.shape[:2]
    flat = acts.reshape(n, c, -1)
    out = []
    for ch in range(c):
        entries = []
        for i in range(n):
            locs = range(flat.shape[-1])
            if distinct:
                best = int(flat[i, ch].argmax())
                locs = [best]
            entries += [(-float(flat[i, ch, loc]), i, loc) for loc in locs]
        entries.sort()
        out.append(entries[:k])
    return out


@pytest.mark.parametrize("distinct", [True, False])
def test_topk_equals_sorting_all_activations_also_when_split(distinct):
    acts = torch.randn(37, 5, 3, 4, generator=GEN)
    acts[5, 1] = acts[9, 1] = 7.0  # ties: lower index, then lower location wins
    expected = _sorted_reference(acts, 6, distinct)
    whole = TopK(5, 6, distinct)
    whole.update(acts, torch.arange(37))
    parts = []
    for lo, hi in [(0, 10), (10, 11), (11, 37)]:
        part = TopK(5, 6, distinct)
        for a in range(lo, hi, 4):
            b = min(a + 4, hi)
            part.update(acts[a:b], torch.arange(a, b))
        parts.append(part)
    merged = parts[2]
    merged.merge(parts[0])
    merged.merge(parts[1])
    for state in (whole, merged):
        for ch in range(5):
            got = list(
                zip(
                    (-state.values[ch]).tolist(),
                    state.index[ch].tolist(),
                    state.location[ch].tolist(),
                )
            )
            assert got == [(pytest.approx(v), i, loc) for v, i, loc in expected[ch]]


def test_topk_skips_what_cannot_beat_the_kth_but_not_ties_that_win_on_order():
    top = TopK(1, 2)
    top.update(torch.tensor([[5.0], [3.0]]), torch.tensor([10, 11]))
    top.update(torch.tensor([[3.0], [2.9]]), torch.tensor([20, 1]))  # neither enters
    assert top.index.tolist() == [[10, 11]]
    top.update(torch.tensor([[3.0]]), torch.tensor([4]))  # a tie with a lower index does
    assert top.index.tolist() == [[10, 4]] and top.values.tolist() == [[5.0, 3.0]]


def test_topk_with_fewer_items_than_k_keeps_empty_slots():
    top = TopK(2, 4)
    top.update(torch.tensor([[1.0, 2.0]]), torch.tensor([7]))
    assert top.index.tolist() == [[7, -1, -1, -1], [7, -1, -1, -1]]
    assert torch.isinf(top.values[:, 1:]).all()


def test_reservoir_is_uniform_and_shard_independent():
    items = torch.arange(1000).float().unsqueeze(1)
    ids = torch.arange(1000)
    whole = Reservoir(50, seed=3)
    for a in range(0, 1000, 64):
        whole.update(items[a : a + 64], ids[a : a + 64])
    left, right = Reservoir(50, seed=3), Reservoir(50, seed=3)
    right.update(items[500:], ids[500:])
    left.update(items[:500], ids[:500])
    right.merge(left)
    assert torch.equal(right.ids, whole.ids)
    assert torch.equal(right.items, whole.items)
    assert right.seen == whole.seen == 1000
    # the sample is the 50 smallest keys of all ids
    expected = uniform_keys(ids, 3).argsort()[:50]
    assert sorted(whole.ids.tolist()) == sorted(expected.tolist())


def test_uniform_keys_look_uniform():
    keys = uniform_keys(torch.arange(200_000), seed=1)
    assert float(keys.min()) >= 0 and float(keys.max()) < 1
    counts = torch.histc(keys.float(), bins=10, min=0, max=1)
    assert (counts - 20_000).abs().max() < 1_000  # ~7 sigma
    assert not torch.equal(uniform_keys(torch.arange(10), 1), uniform_keys(torch.arange(10), 2))
