"""PCA in torch: a literal re-derivation, the streaming form, the scan form, errors."""

from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F

from interpret import scan
from interpret.core import capture
from interpret.embeddings import IncrementalPCA, PCAResult, pca
from interpret.testing import chain_cnn


def _data(n=200, d=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    scales = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, 0.1])[:d]
    return (torch.randn(n, d, generator=gen, dtype=torch.float64) * scales) @ torch.linalg.qr(
        torch.randn(d, d, generator=gen, dtype=torch.float64)
    ).Q + 3.0


def test_pca_is_the_eigendecomposition_of_the_covariance():
    x = _data()
    res = pca(x, 3)
    cov = torch.cov(x.T)  # literal: divisor n - 1
    evals, evecs = torch.linalg.eigh(cov)
    torch.testing.assert_close(res.explained_variance, evals.flip(0)[:3])
    for comp, vec in zip(res.components, evecs.flip(1).T[:3]):
        assert abs(float(comp @ vec)) == pytest.approx(1.0, abs=1e-10)
        assert comp[comp.abs().argmax()] > 0  # sign convention
    torch.testing.assert_close(res.explained_variance_ratio, evals.flip(0)[:3] / evals.sum())
    torch.testing.assert_close(
        res.coordinates.double(), (x - x.mean(0)) @ res.components.T, atol=1e-5, rtol=1e-5
    )


def test_wide_data_and_randomized_solver_agree_with_full():
    gen = torch.Generator().manual_seed(1)
    scales = torch.logspace(1, -1, 30, dtype=torch.float64)  # a decaying spectrum
    wide = (torch.randn(30, 30, generator=gen, dtype=torch.float64) * scales) @ torch.randn(
        30, 80, generator=gen, dtype=torch.float64
    )  # N < D: the SVD path
    full = pca(wide, 4)
    torch.testing.assert_close(
        full.explained_variance, torch.linalg.svdvals(wide - wide.mean(0))[:4] ** 2 / 29
    )
    rand = pca(wide, 4, solver="randomized")
    torch.testing.assert_close(rand.components, full.components, atol=1e-8, rtol=1e-6)


def test_transform_inverse_and_whiten():
    x = _data()
    res = pca(x, 6)
    torch.testing.assert_close(
        res.inverse_transform(res.transform(x)).double(), x, atol=1e-4, rtol=1e-5
    )
    white = pca(x, 3, whiten=True)
    torch.testing.assert_close(
        torch.var(white.coordinates.double(), 0),
        torch.ones(3, dtype=torch.float64),
        atol=1e-5,
        rtol=1e-5,
    )


def test_incremental_is_exact_and_merges():
    x = _data(n=500)
    inc = IncrementalPCA(3)
    for chunk in x[:300].split(37):
        inc.partial_fit(chunk)
    other = IncrementalPCA(3).partial_fit(x[300:])
    inc = pickle.loads(pickle.dumps(inc))
    inc.merge(other)
    full, streamed = pca(x, 3), inc.result()
    torch.testing.assert_close(streamed.components, full.components, atol=1e-10, rtol=1e-8)
    torch.testing.assert_close(streamed.explained_variance, full.explained_variance)
    torch.testing.assert_close(streamed.mean, full.mean)
    assert streamed.coordinates is None and streamed.n_samples == 500


def test_incremental_pca_of_every_neighbourhood_in_a_scan():
    net = chain_cnn()
    data = torch.utils.data.TensorDataset(torch.randn(6, 3, 32, 32))
    inc = IncrementalPCA(4, site="features.3", neighbourhood=3)
    res = scan(net, data, [inc], batch_size=4, progress=False)[0]
    with capture(net, "features.3") as acts, torch.inference_mode():
        net(data.tensors[0])
        cols = F.unfold(acts["features.3"], 3)  # literal: every valid 3x3 block
    vectors = cols.transpose(1, 2).reshape(-1, cols.shape[1])
    torch.testing.assert_close(res.components, pca(vectors, 4).components, atol=1e-6, rtol=1e-5)
    assert res.n_samples == 6 * 13 * 13


def test_save_load(tmp_path):
    res = pca(_data(), 2)
    back = PCAResult.load(res.save(tmp_path / "pca.pt"))
    torch.testing.assert_close(back.transform(_data()), res.transform(_data()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_pca_on_the_gpu_matches_the_cpu():
    x = _data()
    gpu, cpu = pca(x.cuda(), 3), pca(x, 3)
    torch.testing.assert_close(gpu.components, cpu.components)


def test_bad_input():
    x = _data()
    with pytest.raises(ValueError, match="n_components"):
        pca(x, 7)
    with pytest.raises(ValueError, match="2-D"):
        pca(x[0], 1)
    bad = x.clone()
    bad[3, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        pca(bad, 2)
    with pytest.raises(TypeError, match="tensor or NumPy"):
        pca([[1.0, 2.0]], 1)
    with pytest.raises(ValueError, match="at least 2"):
        IncrementalPCA(2).result()
    inc = IncrementalPCA(2).partial_fit(x)
    with pytest.raises(ValueError, match="dimensions"):
        inc.partial_fit(torch.randn(4, 3))
    with pytest.raises(ValueError, match="different parameters"):
        inc.merge(IncrementalPCA(3))
