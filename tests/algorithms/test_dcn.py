import copy

import pytest
import torch
import torch.nn.functional as F

from deepclust.algorithms import dcn


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
