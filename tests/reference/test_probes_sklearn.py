"""Linear probes against outside referees: torchvision feature extraction for the
features, a direct scikit-learn cross-validation for the accuracies."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from torch.utils.data import TensorDataset
from torchvision.models.feature_extraction import create_feature_extractor

from interpret import scan
from interpret.data import Digits
from interpret.probes import FeatureCollector, fit_probes
from interpret.testing import chain_cnn

SITES = ["features.1", "features.4", "classifier.1"]


@pytest.fixture(scope="module")
def setup():
    digits = Digits(size=16, split="all")
    keep = torch.arange(0, len(digits), 3)  # 599 images: enough for 5 folds, quick
    x = digits.images[keep].double()
    y = digits.targets[keep]
    net = chain_cnn(channels=(1, 6, 12, 16), num_classes=10, seed=1).double()
    (feats,) = scan(net, TensorDataset(x, y), [FeatureCollector(SITES, pool="avg")],
                    batch_size=50, progress=False)  # fmt: skip
    return net, x, y, feats


def test_features_equal_torchvision_feature_extraction(setup):
    net, x, y, feats = setup
    extractor = create_feature_extractor(net, return_nodes={s: s for s in SITES})
    with torch.no_grad():
        ref = extractor(x)
    for site in SITES:
        expect = ref[site].mean(dim=(2, 3)) if ref[site].ndim == 4 else ref[site]
        torch.testing.assert_close(feats.features[site], expect.float(), rtol=1e-6, atol=1e-6)
    assert torch.equal(feats.labels, y)


def _cv(folds=5, seed=0):
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


@pytest.mark.parametrize("classifier", ["logistic", "linear_svm"])
def test_accuracies_equal_a_direct_sklearn_run(setup, classifier):
    _, _, y, feats = setup
    res = fit_probes(feats, classifier=classifier, folds=5, seed=0, C=0.5)
    for i, site in enumerate(SITES):
        clf = (
            LogisticRegression(C=0.5, max_iter=2000)
            if classifier == "logistic"
            else LinearSVC(C=0.5, max_iter=2000, random_state=0)
        )
        x = feats.features[site].double().numpy()
        scores = cross_val_score(make_pipeline(StandardScaler(), clf), x, y.numpy(), cv=_cv())
        np.testing.assert_array_equal(res.fold_accuracy[i].numpy(), scores)
        assert float(res.accuracy_mean[i]) == pytest.approx(scores.mean(), abs=1e-15)
        assert float(res.accuracy_std[i]) == pytest.approx(scores.std(), abs=1e-15)


def test_nested_grid_search_equals_sklearn(setup):
    _, _, y, feats = setup
    grid = [0.1, 1.0, 10.0]
    res = fit_probes(feats, sites=["features.4"], C=grid, folds=4, seed=2, standardize=False)
    search = GridSearchCV(
        make_pipeline(LogisticRegression(max_iter=2000)),
        {"logisticregression__C": grid},
        cv=_cv(3, 2),
    )
    x = feats.features["features.4"].double().numpy()
    scores = cross_val_score(search, x, y.numpy(), cv=_cv(4, 2))
    np.testing.assert_array_equal(res.fold_accuracy[0].numpy(), scores)


def test_accuracies_on_torchvision_features_match(setup):
    net, x, y, feats = setup
    extractor = create_feature_extractor(net, return_nodes={"features.4": "f"})
    with torch.no_grad():
        direct = extractor(x)["f"].mean(dim=(2, 3)).float().double().numpy()
    scores = cross_val_score(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), direct, y.numpy(),
        cv=_cv(),
    )  # fmt: skip
    res = fit_probes(feats, sites=["features.4"])
    np.testing.assert_allclose(res.fold_accuracy[0].numpy(), scores, atol=1 / 100)
