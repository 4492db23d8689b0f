import math

import numpy as np
import pytest
import torch

from deepclust import metrics
from deepclust.algorithms import ALGORITHMS, ddc

LINE = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]], dtype=torch.float64)


def test_cutoff_is_ratio_times_the_mean_pairwise_distance():
    # pairs: 1, 3, 2 → mean 2
    assert ddc.cutoff_distance(LINE, 0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="ratio 2 gives a cut-off distance 4 outside"):
        ddc.cutoff_distance(LINE, 2)


def test_local_density_and_nearest_denser_point_hand_values():
    rho = ddc.local_density(LINE, 1.0)  # Σ_{j≠i} exp(−d²), d_c = 1
    e = math.exp
    assert rho.tolist() == pytest.approx([e(-1) + e(-9), e(-1) + e(-4), e(-9) + e(-4)])
    parent, delta = ddc.nearest_denser(LINE, rho)
    assert parent.tolist() == [1, -1, 1]  # point 1 is the densest
    assert delta.tolist() == [1.0, math.inf, 2.0]


def test_points_follow_their_chain_to_a_peak():
    rho = torch.tensor([3.0, 5.0, 1.0, 4.0, 2.0])
    parent = torch.tensor([3, -1, 4, 1, 0])  # 2 → 4 → 0 → 3 → 1
    peaks = torch.tensor([True, False, False, False, False])  # 0 is a peak; 1 has no parent
    assert ddc.assign_to_peaks(rho, parent, peaks).tolist() == [1, 0, 1, 0, 1]


def test_clusters_merge_when_core_points_are_closer_than_the_cutoff():
    Y = np.array([[0.0, 0], [0.1, 0], [0.9, 0], [1.0, 0], [5.0, 0], [5.1, 0]])
    labels = np.array([0, 0, 1, 1, 2, 2])
    rho = np.array([1.0, 2.0, 2.0, 1.0, 1.0, 2.0])  # core: points 1, 2 and 5
    assert ddc.merge_clusters(Y, labels, rho, d_c=0.9).tolist() == [0, 0, 0, 0, 1, 1]
    # Eq. 11 is strict: core points exactly d_c = 0.8 apart stay apart
    assert ddc.merge_clusters(Y, labels, rho, d_c=0.8).tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("k", [2, 3])
def test_density_peaks_find_the_number_of_separated_groups(k):
    rng = np.random.default_rng(0)
    Y = np.repeat(10 * np.arange(k)[:, None] * [1.0, 0.5], 40, axis=0)
    Y += rng.standard_normal(Y.shape)
    labels, info = ddc.density_peak_clustering(Y, ratio=0.1)
    assert info["n_clusters_found"] == k
    assert metrics.acc(np.repeat(np.arange(k), 40), labels) == 1.0


def test_fit_reports_the_clusters_it_found(blobs, tiny_ae, tiny_init):
    X, y = blobs
    params = ALGORITHMS["ddc"].params_from_config({"preset": "fast"})
    result = ddc.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    assert result.history[0]["n_clusters_found"] == len(np.unique(result.labels)) == 3
    assert metrics.acc(y, result.labels) == 1.0
    assert result.state["tsne"].shape == (90, 2)
