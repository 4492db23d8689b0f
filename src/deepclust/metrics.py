"""External clustering metrics: ACC (Hungarian matching), NMI and ARI."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts C[i, j] of samples with predicted cluster i and true class j."""
    y_true, y_pred = _check(y_true, y_pred)
    C = np.zeros((y_pred.max() + 1, y_true.max() + 1), dtype=np.int64)
    np.add.at(C, (y_pred, y_true), 1)
    return C


def hungarian_mapping(y_true: np.ndarray, y_pred: np.ndarray) -> dict[int, int]:
    """The cluster → class map that maximises the number of matched samples."""
    C = confusion(y_true, y_pred)
    rows, cols = linear_sum_assignment(C, maximize=True)
    return dict(zip(rows.tolist(), cols.tolist(), strict=True))


def acc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unsupervised clustering accuracy: the best one-to-one matching of clusters to classes."""
    C = confusion(y_true, y_pred)
    rows, cols = linear_sum_assignment(C, maximize=True)
    return float(C[rows, cols].sum() / C.sum())


def nmi(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Normalised mutual information (arithmetic mean normalisation, scikit-learn's default)."""
    return float(normalized_mutual_info_score(*_check(y_true, y_pred)))


def ari(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Adjusted Rand index."""
    return float(adjusted_rand_score(*_check(y_true, y_pred)))


METRICS = {"acc": acc, "nmi": nmi, "ari": ari}


def score(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {name: fn(y_true, y_pred) for name, fn in METRICS.items()}


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"labels must be 1-D of equal length, got {y_true.shape} and {y_pred.shape}"
        )
    if y_true.size == 0:
        raise ValueError("labels are empty")
    if y_true.min() < 0 or y_pred.min() < 0:
        raise ValueError("labels must be non-negative integers")
    return y_true.astype(np.int64), y_pred.astype(np.int64)
