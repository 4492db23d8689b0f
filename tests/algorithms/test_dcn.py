import copy

import pytest
import torch
import torch.nn.functional as F

from deepclust.algorithms import dcn
from deepclust.algorithms.base import InitialClustering


def test_clustering_loss_hand_value():
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    mu = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    # 1/(2·2) · (1 + 4)
    assert dcn.clustering_loss(z, mu).item() == pytest.approx(1.25)


def test_center_update_equals_the_sequential_rule_of_eq_10():
    centers = torch.tensor([[0.0, 0.0], [10.0, 10.0], [5.0, 5.0]])
    counts = torch.tensor([1.0, 3.0, 2.0])
    z = torch.tensor([[2.0, 0.0], [11.0, 9.0], [4.0, 4.0], [9.0, 13.0]])
    labels = torch.tensor([0, 1, 0, 1])
    seq_centers, seq_counts = centers.clone(), counts.clone()
    for zi, j in zip(z, labels, strict=True):  # μ_j ← μ_j − (1/c_j)(μ_j − z_i), c_j += 1 first
        seq_counts[j] += 1
        seq_centers[j] -= (seq_centers[j] - zi) / seq_counts[j]
    dcn.update_centers(centers, counts, z, labels)
    assert torch.allclose(centers, seq_centers)
    assert torch.equal(counts, seq_counts)
    # hand values: cluster 0 had 1 sample at 0, gets (2,0) and (4,4) → mean (2, 4/3)
    assert torch.allclose(centers[0], torch.tensor([2.0, 4 / 3]))
    assert torch.equal(centers[2], torch.tensor([5.0, 5.0]))  # untouched


def test_fit_reports_its_own_nearest_center_labels(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = dcn.DCNParams(epochs=3, batch_size=32, lam=1.0)
    result = dcn.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    nearest = torch.cdist(
        torch.as_tensor(result.embedding), torch.as_tensor(result.centers)
    ).argmin(1)
    assert (nearest.numpy() == result.labels).all()
    assert [r["epoch"] for r in result.history if "delta_label" in r] == [1, 2]


def test_one_step_lowers_the_loss_with_the_clusters_held_fixed(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    labels = torch.as_tensor(tiny_init.labels)
    centers = torch.as_tensor(tiny_init.centers)

    def loss(ae):
        with torch.no_grad():
            z = ae.encode(X)
            rec = F.mse_loss(ae.decode(z), X)
            return (rec + 1.0 * dcn.clustering_loss(z, centers[labels])).item()

    params = dcn.DCNParams(epochs=1, batch_size=len(X), lam=1.0, lr=0.01)
    result = dcn.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    ae = copy.deepcopy(tiny_ae)
    ae.load_state_dict(result.state["autoencoder"])
    assert loss(ae) < loss(tiny_ae)


def test_loss_is_reconstruction_plus_lambda_times_the_clustering_term(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = dcn.DCNParams(epochs=2, batch_size=32, lam=0.5)  # neither 1 nor the paper's 0.05
    result = dcn.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    rows = [r for r in result.history if "loss" in r]
    assert len(rows) == 2
    for row in rows:
        assert row["loss"] == pytest.approx(row["reconstruction"] + 0.5 * row["clustering"])


def test_the_clustering_term_pulls_the_embedding_to_the_centers(blobs, tiny_ae, tiny_init):
    """One full-batch step with λ = 5 leaves the embedding nearer its assigned centers than the
    same step with λ = 0 (reconstruction only): Eq. 9's gradient reaches the encoder."""
    X, _ = blobs
    labels = torch.as_tensor(tiny_init.labels)
    centers = torch.as_tensor(tiny_init.centers)

    def clustering_after_one_step(lam: float) -> float:
        params = dcn.DCNParams(epochs=1, batch_size=len(X), lam=lam, lr=0.01)
        result = dcn.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
        ae = copy.deepcopy(tiny_ae)
        ae.load_state_dict(result.state["autoencoder"])
        with torch.no_grad():
            return dcn.clustering_loss(ae.encode(X), centers[labels]).item()

    assert clustering_after_one_step(5.0) < clustering_after_one_step(0.0)


def test_after_a_step_the_batch_is_reassigned_and_the_centers_follow_eq_10(
    blobs, tiny_ae, tiny_init
):
    """One full-batch step from labels that are not the nearest centers (k-means' labels
    shifted by one): the samples go to the nearest *old* center in the *new* embedding, then
    each center becomes the running mean of Eq. 10 with counts starting at 1."""
    X, _ = blobs
    shifted = InitialClustering((tiny_init.labels + 1) % 3, tiny_init.centers)
    params = dcn.DCNParams(epochs=1, batch_size=len(X), lam=1.0, lr=0.01, initial_count=1.0)
    result = dcn.fit(tiny_ae, X, shifted, params, generator=torch.Generator(), progress=False)
    ae = copy.deepcopy(tiny_ae)
    ae.load_state_dict(result.state["autoencoder"])
    with torch.no_grad():
        z = ae.encode(X)
    old = torch.as_tensor(tiny_init.centers)
    labels = torch.cdist(z, old).argmin(dim=1)
    counts = torch.bincount(labels, minlength=3).float()
    sums = torch.zeros_like(old).index_add_(0, labels, z)
    expected = (old + sums) / (1 + counts)[:, None]
    assert torch.allclose(result.state["centers"], expected, atol=1e-6)
    assert not torch.allclose(expected, old, atol=1e-3)
