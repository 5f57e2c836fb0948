"""Layer-wise linear probes: how discriminative is each layer? (Zeiler & Fergus Table 7)

A linear classifier (scikit-learn's logistic regression, the "softmax" of the paper, or a
linear SVM) is trained on the frozen features of each site and scored by stratified
k-fold cross-validation; accuracy mean and spread over the folds per site.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from interpret.core import Result, scan
from interpret.core.frames import column, grid_keys, make_frame, name_column
from interpret.probes.features import FeatureCollector, ProbeFeatures

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ProbeResult", "fit_probes", "layer_probes", "make_probe", "CLASSIFIERS"]

CLASSIFIERS = ("logistic", "linear_svm")
Classifier = Literal["logistic", "linear_svm"]


@dataclass(frozen=True)
class ProbeResult(Result):
    """Cross-validated accuracy of a linear probe per site.

    Attributes
    ----------
    sites:
        The probed sites, in order.
    accuracy_mean, accuracy_std:
        ``(S,)`` float64 mean and standard deviation (over folds, ``ddof=0`` as
        ``numpy.std``) of the held-out accuracy per site, in [0, 1].
    fold_accuracy, train_accuracy:
        ``(S, folds)`` float64 held-out and training accuracy per fold.
    chosen_C:
        ``(S, folds)`` float64 regularization strength used in each fold (the inner
        grid search's choice when several ``C`` were given).
    feature_dims:
        ``site -> D`` features per image.
    n_images, n_classes:
        Size of the probed set.
    chance:
        Accuracy of always predicting the most frequent class.
    classifier, folds, seed, C, standardize, pool:
        The parameters that made the result.
    warnings:
        Messages of warnings raised while fitting (e.g. non-convergence), de-duplicated.
    """

    sites: tuple[str, ...]
    accuracy_mean: Tensor
    accuracy_std: Tensor
    fold_accuracy: Tensor
    train_accuracy: Tensor
    chosen_C: Tensor
    feature_dims: dict[str, int]
    n_images: int
    n_classes: int
    chance: float
    classifier: str
    folds: int
    seed: int
    C: tuple[float, ...]
    standardize: bool
    pool: str | int
    warnings: tuple[str, ...]

    def rows(self) -> list[dict[str, object]]:
        """One dict per site: site, dims, accuracy mean/std and train accuracy (in %)."""
        return [
            {
                "site": site,
                "features": self.feature_dims[site],
                "accuracy_%": 100 * float(self.accuracy_mean[i]),
                "std_%": 100 * float(self.accuracy_std[i]),
                "train_%": 100 * float(self.train_accuracy[i].mean()),
            }
            for i, site in enumerate(self.sites)
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per (site, fold): ``site``, ``fold``, ``accuracy`` (held out),
        ``train_accuracy``, ``chosen_C``, and per site ``features``, ``accuracy_mean``,
        ``accuracy_std`` and ``chance`` (accuracies in [0, 1], not %).
        ``frame.groupby("site", sort=False).accuracy.mean()`` gives ``accuracy_mean``."""
        s, f = self.fold_accuracy.shape
        keys = grid_keys((s, f), ("site_index", "fold"))
        site = keys.pop("site_index")
        columns: dict[str, Any] = {
            "site": name_column(site, self.sites),
            **keys,
            "accuracy": column(self.fold_accuracy),
            "train_accuracy": column(self.train_accuracy),
            "chosen_C": column(self.chosen_C),
            "features": np.asarray([self.feature_dims[n] for n in self.sites])[site],
            "accuracy_mean": column(self.accuracy_mean)[site],
            "accuracy_std": column(self.accuracy_std)[site],
            "chance": self.chance,
        }
        return make_frame(columns, s * f)

    def markdown(self) -> str:
        """The table as Markdown, as Table 7 (accuracy % ± std over folds)."""
        name = "softmax" if self.classifier == "logistic" else "linear SVM"
        lines = [
            f"| site | features | {name} accuracy % (± std, {self.folds} folds) | train % |",
            "|---|---:|---:|---:|",
        ]
        for row in self.rows():
            lines.append(
                f"| {row['site']} | {row['features']} | {row['accuracy_%']:.1f} ± "
                f"{row['std_%']:.1f} | {row['train_%']:.1f} |"
            )
        lines.append(
            f"\nChance (majority class): {100 * self.chance:.1f} %, {self.n_images} images."
        )
        return "\n".join(lines)


def make_probe(
    classifier: Classifier = "logistic",
    C: float = 1.0,
    standardize: bool = True,
    max_iter: int = 2000,
    seed: int = 0,
):
    """The scikit-learn pipeline fitted per site and fold: optional ``StandardScaler``
    then ``LogisticRegression`` (multinomial, lbfgs) or ``LinearSVC`` (one-vs-rest)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if classifier == "logistic":
        clf = LogisticRegression(C=C, max_iter=max_iter)
    elif classifier == "linear_svm":
        clf = LinearSVC(C=C, max_iter=max_iter, random_state=seed)
    else:
        raise ValueError(
            f"classifier must be one of {', '.join(map(repr, CLASSIFIERS))}, not {classifier!r}."
        )
    return make_pipeline(StandardScaler(), clf) if standardize else make_pipeline(clf)


def _check_labels(labels: np.ndarray, folds: int) -> tuple[int, float]:
    classes, counts = np.unique(labels, return_counts=True)
    if classes.size < 2:
        raise ValueError("Probes need at least two classes in the labels.")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds must be an int >= 2, got {folds!r}.")
    if counts.min() < folds:
        small = classes[counts.argmin()]
        raise ValueError(
            f"Class {small} has only {counts.min()} images, fewer than folds={folds}; lower "
            "folds or collect more images (max_images) per class."
        )
    return int(classes.size), float(counts.max() / counts.sum())


def fit_probes(
    features: ProbeFeatures,
    *,
    sites: Sequence[str] | None = None,
    classifier: Classifier = "logistic",
    folds: int = 5,
    seed: int = 0,
    C: float | Sequence[float] = 1.0,
    standardize: bool = True,
    max_iter: int = 2000,
) -> ProbeResult:
    """Cross-validated linear probe accuracy per site (Zeiler & Fergus Table 7).

    Parameters
    ----------
    features:
        From :class:`~interpret.probes.features.FeatureCollector` (via ``scan``).
    sites:
        Subset of ``features.sites`` (default all), in the order to report.
    classifier:
        ``"logistic"`` (softmax regression) or ``"linear_svm"``.
    folds, seed:
        ``StratifiedKFold(folds, shuffle=True, random_state=seed)``: the same splits for
        every site.
    C:
        Inverse regularization strength. A sequence: chosen inside each training fold by
        a 3-fold stratified grid search (nested cross-validation; no test-fold leakage).
    standardize:
        Standardize features (fitted on each training fold only).
    max_iter:
        Solver iterations.

    Returns
    -------
    ProbeResult

    Example
    -------
    >>> import torch
    >>> from interpret.probes import ProbeFeatures
    >>> g = torch.Generator().manual_seed(0)
    >>> y = torch.arange(40) % 2
    >>> feats = ProbeFeatures({"good": y[:, None] + 0.1 * torch.randn(40, 3, generator=g),
    ...                        "noise": torch.randn(40, 3, generator=g)},
    ...                       y, torch.arange(40), "avg", 40, None, 0)
    >>> res = fit_probes(feats, folds=4)
    >>> float(res.accuracy_mean[0])
    1.0
    """
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate

    if not isinstance(features, ProbeFeatures):
        raise TypeError(
            "features must be the ProbeFeatures of a scan with FeatureCollector, not "
            f"{type(features).__name__}."
        )
    chosen_sites = tuple(features.sites if sites is None else sites)
    for site in chosen_sites:
        if site not in features.features:
            raise ValueError(f"No features for site {site!r}; collected: {features.sites}.")
    if not chosen_sites:
        raise ValueError("sites is empty: name at least one collected site.")
    grid = (float(C),) if isinstance(C, (int, float)) else tuple(float(c) for c in C)
    if not grid or min(grid) <= 0:
        raise ValueError(f"C must be a positive number or a non-empty list of them, got {C!r}.")
    make_probe(classifier)  # validates the name before any work
    y = features.labels.numpy()
    n_classes, chance = _check_labels(y, folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    test_acc, train_acc, chosen, messages = [], [], [], []
    for site in chosen_sites:
        x = features.features[site].double().numpy()
        estimator = make_probe(classifier, grid[0], standardize, max_iter, seed)
        if len(grid) > 1:
            inner = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
            name = estimator.steps[-1][0]
            estimator = GridSearchCV(estimator, {f"{name}__C": list(grid)}, cv=inner)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores = cross_validate(
                estimator, x, y, cv=splitter, return_train_score=True, return_estimator=True
            )
        messages += [f"{site}: {w.message}" for w in caught]
        test_acc.append(scores["test_score"])
        train_acc.append(scores["train_score"])
        if len(grid) > 1:
            chosen.append([next(iter(e.best_params_.values())) for e in scores["estimator"]])
        else:
            chosen.append([grid[0]] * folds)
    fold = torch.tensor(np.array(test_acc), dtype=torch.float64)
    return ProbeResult(
        sites=chosen_sites,
        accuracy_mean=fold.mean(dim=1),
        accuracy_std=fold.std(dim=1, correction=0),
        fold_accuracy=fold,
        train_accuracy=torch.tensor(np.array(train_acc), dtype=torch.float64),
        chosen_C=torch.tensor(chosen, dtype=torch.float64),
        feature_dims={s: int(features.features[s].shape[1]) for s in chosen_sites},
        n_images=int(y.size),
        n_classes=n_classes,
        chance=chance,
        classifier=classifier,
        folds=folds,
        seed=seed,
        C=grid,
        standardize=standardize,
        pool=features.pool,
        warnings=tuple(dict.fromkeys(messages)),
    )


def layer_probes(
    model: nn.Module,
    data: Dataset | DataLoader,
    sites: Sequence[str],
    *,
    pool: str | int = "avg",
    max_images: int | None = None,
    classifier: Classifier = "logistic",
    folds: int = 5,
    seed: int = 0,
    C: float | Sequence[float] = 1.0,
    standardize: bool = True,
    max_iter: int = 2000,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ProbeResult:
    """One ``scan`` collecting pooled features of ``sites``, then :func:`fit_probes`.

    ``data`` yields ``(image, label)``; see :class:`FeatureCollector` for ``pool``,
    ``max_images`` (memory: ``N x D`` float32 per site) and :func:`fit_probes` for the rest.

    Example
    -------
    >>> from interpret.data import Digits  # doctest: +SKIP
    >>> res = layer_probes(model, Digits(), ["features.1", "classifier.5"])  # doctest: +SKIP
    """
    collector = FeatureCollector(sites, pool=pool, max_images=max_images, seed=seed)
    (features,) = scan(
        model, data, [collector], device=device, batch_size=batch_size, progress=progress
    )
    return fit_probes(
        cast(ProbeFeatures, features),
        classifier=classifier,
        folds=folds,
        seed=seed,
        C=C,
        standardize=standardize,
        max_iter=max_iter,
    )
