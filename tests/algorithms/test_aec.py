import copy

import pytest
import torch
import torch.nn.functional as F

from deepclust.algorithms import aec
from deepclust.models.autoencoder import embed


def test_clustering_loss_hand_value():
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    mu = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    # (1/2) · (1 + 1): Eq. 8 has no factor 1/2 (DCN's Eq. 9 has)
    assert aec.clustering_loss(z, mu).item() == pytest.approx(1.0)
    assert aec.total_loss(torch.tensor(0.5), torch.tensor(2.0), lam=0.1).item() == pytest.approx(
        0.7
    )


def test_update_recomputes_means_first_then_reassigns():
    z = torch.tensor([[0.0], [1.0], [4.0], [10.0]])
    labels = torch.tensor([0, 0, 0, 1])
    centers = torch.tensor([[100.0], [100.0], [7.0]])  # cluster 2 is empty and keeps its center
    new_labels, new_centers = aec.update_clusters(z, labels, centers)
    # means (5/3, 10, 7) first; then nearest: 0→0, 1→0, 4→0 (|4-5/3|=2.33 < 3), 10→1
    assert torch.allclose(new_centers, torch.tensor([[5 / 3], [10.0], [7.0]]))
    assert new_labels.tolist() == [0, 0, 0, 1]
    z = torch.tensor([[0.0], [1.0], [6.0], [10.0]])
    new_labels, _ = aec.update_clusters(z, labels, centers)
    assert new_labels.tolist() == [0, 0, 2, 1]  # 6 is nearer 7 than 7/3 or 10


def test_random_init_draws_labels_from_the_generator(tiny_init):
    a = aec.initial_labels(tiny_init, 3, 90, "random", torch.Generator().manual_seed(3))
    b = aec.initial_labels(tiny_init, 3, 90, "random", torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and set(a.tolist()) == {0, 1, 2}
    assert not torch.equal(a, torch.as_tensor(tiny_init.labels))
    kmeans = aec.initial_labels(tiny_init, 3, 90, "kmeans", torch.Generator())
    assert kmeans.tolist() == tiny_init.labels.tolist()
    with pytest.raises(ValueError, match="unknown init 'pca'"):
        aec.initial_labels(tiny_init, 3, 90, "pca", torch.Generator())


def _loss(ae, X, labels, centers, lam):
    z = embed(ae, X)
    with torch.no_grad():
        rec = F.mse_loss(ae.decode(z), X)
    return aec.total_loss(rec, aec.clustering_loss(z, centers[labels]), lam).item()


def test_one_epoch_lowers_the_loss(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = aec.AECParams(epochs=1, batch_size=len(X), init="kmeans", lam=1.0, lr=0.01)
    labels = torch.as_tensor(tiny_init.labels)
    centers = aec.cluster_means(embed(tiny_ae, X), labels, torch.as_tensor(tiny_init.centers))
    before = _loss(tiny_ae, X, labels, centers, params.lam)
    result = aec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    ae = copy.deepcopy(tiny_ae)
    ae.load_state_dict(result.state["autoencoder"])
    # one network step (clusters fixed), then the means, then the re-assignment
    after = _loss(ae, X, torch.as_tensor(result.labels), result.state["centers"], params.lam)
    assert after < before


def test_one_cluster_update_per_epoch_the_last_after_the_last_epoch(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = aec.AECParams(epochs=4, batch_size=32)
    result = aec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    assert [r["epoch"] for r in result.history if "delta_label" in r] == [1, 2, 3, 4]


def test_loss_is_reconstruction_plus_lambda_times_the_clustering_term(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = aec.AECParams(epochs=2, batch_size=32, lam=0.5)  # not the paper's 0.1
    result = aec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    rows = [r for r in result.history if "loss" in r]
    assert len(rows) == 2
    for row in rows:
        assert row["loss"] == pytest.approx(row["reconstruction"] + 0.5 * row["clustering"])


def test_the_result_is_a_fixed_point_of_the_cluster_update(blobs, tiny_ae, tiny_init):
    """After AEC on three separated blobs the labels no longer change, so the reported centers
    are the means of their clusters in the final embedding and every sample's label is its
    nearest center (centers computed before the network moved would be neither)."""
    X, _ = blobs
    params = aec.AECParams(epochs=4, batch_size=32, init="kmeans", lam=1.0)
    result = aec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    z, labels = torch.as_tensor(result.embedding), torch.as_tensor(result.labels)
    centers = torch.as_tensor(result.centers)
    assert result.history[-1]["delta_label"] == 0
    assert torch.allclose(centers, aec.cluster_means(z, labels, centers), atol=1e-6)
    assert torch.equal(aec.nearest_center(z, centers), labels)
