import math

import numpy as np
import pytest

from deepclust.metrics import acc, ari, confusion, hungarian_mapping, nmi


def test_perfect_clustering_under_permuted_labels_scores_one():
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([2, 2, 0, 0, 1, 1])
    assert acc(y, pred) == 1.0
    assert nmi(y, pred) == pytest.approx(1.0)
    assert ari(y, pred) == pytest.approx(1.0)
    assert hungarian_mapping(y, pred) == {2: 0, 0: 1, 1: 2}


def test_hand_computed_case():
    y = np.array([0, 0, 0, 1, 1, 1])
    pred = np.array([5, 5, 3, 3, 3, 3])  # cluster ids need not be 0..k-1
    assert acc(y, pred) == pytest.approx(5 / 6)
    # ARI: sum C(n_ij, 2) = 1 + 3 = 4; rows C(2,2) + C(4,2) = 7; columns 3 + 3 = 6; C(6,2) = 15
    expected = (4 - 7 * 6 / 15) / ((7 + 6) / 2 - 7 * 6 / 15)
    assert ari(y, pred) == pytest.approx(expected)
    # NMI with the arithmetic mean of the entropies
    mi = (1 / 3) * math.log(2) + (1 / 6) * math.log(1 / 2) + (1 / 2) * math.log(3 / 2)
    h_true = math.log(2)
    h_pred = -(1 / 3) * math.log(1 / 3) - (2 / 3) * math.log(2 / 3)
    assert nmi(y, pred) == pytest.approx(mi / ((h_true + h_pred) / 2))


def test_more_clusters_than_classes_counts_only_matched_ones():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 2, 3])
    assert acc(y, pred) == 0.5
    assert confusion(y, pred).shape == (4, 2)


@pytest.mark.parametrize(
    ("y", "pred", "message"),
    [([0, 1], [0], "equal length"), ([], [], "empty"), ([0, -1], [0, 1], "non-negative")],
)
def test_bad_labels_are_rejected(y, pred, message):
    with pytest.raises(ValueError, match=message):
        acc(np.array(y, dtype=int), np.array(pred, dtype=int))
