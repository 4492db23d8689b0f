import copy

import pytest
import torch
import torch.nn.functional as F

from deepclust import metrics
from deepclust.algorithms import acedec
from deepclust.algorithms.base import InitialClustering
from deepclust.models.autoencoder import embed
from tests.algorithms.pretrained import kmeans_start, pretrained_tiny


def test_weighted_distance_hand_value():
    a = torch.tensor([[1.0, 2.0]])
    b = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    beta = torch.tensor([0.5, 1.0])
    # Σ_j β_j² (a_j − b_j)²: 0.25·1 + 1·4 = 4.25 and 0 + 4 = 4
    assert acedec.weighted_sq_distance(a, b, beta).tolist() == [[4.25, 4.0]]


def test_clustering_loss_hand_value():
    y = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    centers = torch.tensor([[1.0, 0.0], [2.0, 0.0]])  # μ_h(i) of each row
    shared = torch.tensor([2.0, 1.0])
    betas = torch.tensor([[0.8, 0.5], [0.2, 0.5]])  # (cluster, shared) weights per feature
    # row 0: 0.64·0 + 0.25·4 + 0.04·1 + 0.25·1 = 1.29; row 1: 0.64·1 + 0 + 0.04·1 + 0.25·1 = 0.93
    assert acedec.clustering_loss(y, centers, shared, betas).item() == pytest.approx(1.11)


def test_initial_betas_minimise_eq_11_for_the_start():
    y = torch.tensor([[0.0, 0.0], [0.0, 2.0], [4.0, 0.0], [4.0, 2.0]])
    labels = torch.tensor([0, 0, 1, 1])
    centers = torch.tensor([[0.0, 1.0], [4.0, 1.0]])
    betas = torch.softmax(acedec.initial_beta_logits(y, labels, centers), dim=0)
    # feature 0: a = 0 (all on their center), b = 4 → β_ci = 1; feature 1: a = b = 1 → ½
    assert betas[0].tolist() == pytest.approx([1.0, 0.5])
    assert betas.sum(dim=0).tolist() == pytest.approx([1.0, 1.0])


def test_minibatch_kmeans_update_hand_values():
    centers = torch.tensor([[0.0, 0.0], [10.0, 10.0], [5.0, 5.0]])
    counts = torch.tensor([0.0, 2.0, 1.0])
    y = torch.tensor([[2.0, 0.0], [4.0, 4.0], [13.0, 10.0]])
    acedec.minibatch_kmeans_update(centers, counts, y, torch.tensor([0, 0, 1]))
    assert counts.tolist() == [1.0, 1.5, 1.0]  # ½·2 + ½·0, ½·1 + ½·2, no sample: kept
    assert centers[0].tolist() == [1.5, 1.0]  # 0 + ([3, 2] − 0) / (1 + 1)
    assert torch.allclose(centers[1], torch.tensor([11.2, 10.0]))  # 10 + (13 − 10) / 2.5
    assert centers[2].tolist() == [5.0, 5.0]  # no sample: unchanged


def test_fit_keeps_the_starts_clusters_and_lowers_the_loss(blobs):
    X, y = blobs
    start_ae = pretrained_tiny(X)
    start = kmeans_start(start_ae, X, 3)
    params = acedec.ACeDeCParams(max_iter=60, batch_size=30)
    result = acedec.fit(start_ae, X, start, params, generator=torch.Generator(), progress=False)
    assert metrics.acc(y, start.labels) == 1.0
    assert metrics.acc(y, result.labels) == 1.0
    epochs = [row for row in result.history if "clustering" in row]
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    V = result.state["rotation"]
    ae = copy.deepcopy(start_ae)
    ae.load_state_dict(result.state["autoencoder"])
    z = ae.encode(X).detach()
    assert torch.allclose(torch.as_tensor(result.embedding), z @ V, atol=1e-6)
    with torch.no_grad():  # the reconstruction runs through V Vᵀ and stays good
        assert F.mse_loss(ae.decode(z @ V @ V.T), X) < 2 * F.mse_loss(start_ae(X), X)


def test_aec_epoch_update_hand_values():
    y = torch.tensor([[0.0, 0.0], [2.0, 4.0], [10.0, 0.0], [4.0, 9.0]])
    labels = torch.tensor([0, 0, 1, 1])
    centers = torch.tensor([[-10.0, 0.0], [9.0, 9.0], [5.0, 5.0]])
    beta_ci = torch.tensor([1.0, 0.0])  # only feature 0 is a cluster feature
    new_labels, new_centers = acedec.aec_epoch_update(y, labels, centers, beta_ci)
    # means first: (1, 2), (7, 4.5); cluster 2 has no sample and keeps (5, 5)
    assert new_centers.tolist() == [[1.0, 2.0], [7.0, 4.5], [5.0, 5.0]]
    # then the nearest new center in feature 0 (1, 7, 5): 0 → 1, 2 → 1, 10 → 7, 4 → 5
    # (the old centers, −10, 9, 5, would send the first sample to cluster 2)
    assert new_labels.tolist() == [0, 0, 1, 2]


def test_lonely_threshold_is_the_floor_of_the_root_of_the_iteration():
    assert [acedec.lonely_threshold(i) for i in (0, 1, 3, 4, 15, 16, 10000)] == [
        1, 1, 1, 2, 3, 4, 100
    ]  # fmt: skip


def test_count_lonely_counts_empty_batches_in_a_row():
    lonely = torch.tensor([0, 3, 5])
    # center 0 got two samples, center 1 none (4 in a row), center 2 one: its count restarts
    assert acedec.count_lonely(lonely, torch.tensor([0, 0, 2])).tolist() == [0, 4, 0]


def test_reinitialise_center_hand_values():
    """Center 1 is far from every row; wherever on the rows it lands, two Lloyd steps in
    feature 0 (β = (1, 0)) split the rows into {0, 1} and {10, 11}."""
    y = torch.tensor([[0.0, 5.0], [1.0, -5.0], [10.0, 0.0], [11.0, 0.0]])
    for seed in range(4):
        centers = torch.tensor([[0.5, 0.0], [100.0, 0.0]])
        counts = torch.tensor([7.0, 0.0])
        generator = torch.Generator().manual_seed(seed)
        beta_ci = torch.tensor([1.0, 0.0])
        acedec.reinitialise_center(1, y, centers, counts, beta_ci, generator, lloyd_steps=3)
        got = sorted(centers.tolist())
        assert got == [[0.5, 0.0], [10.5, 0.0]]  # means of {0, 1} and {10, 11}
        assert counts.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("reinit", [True, False])
def test_a_center_left_empty_is_reinitialised(blobs, reinit):
    """A start whose third center is far from every sample: with ClustPy's re-initialisation
    the run ends with all three clusters; without, that center never gets a sample."""
    X, y = blobs
    start_ae = pretrained_tiny(X)
    start = kmeans_start(start_ae, X, 3)
    centers = torch.as_tensor(start.centers).clone()
    centers[2] = 100.0
    labels = torch.cdist(embed(start_ae, X).detach(), centers[:2]).argmin(dim=1)
    broken = InitialClustering(labels=labels.numpy(), centers=centers.numpy())
    params = acedec.ACeDeCParams(max_iter=60, batch_size=30, reinit_empty=reinit)
    result = acedec.fit(start_ae, X, broken, params, generator=torch.Generator(), progress=False)
    found = len(set(result.labels.tolist()))
    assert found == (3 if reinit else 2)
    if reinit:
        assert metrics.acc(y, result.labels) == 1.0
