import copy

import numpy as np
import pytest
import torch

from deepclust.algorithms import dekm
from deepclust.models.autoencoder import embed


def test_within_class_scatter_matches_an_independent_numpy_formula():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(12, 3))
    labels = rng.integers(0, 2, size=12)
    centers = np.stack([h[labels == j].mean(0) for j in range(2)])
    expected = sum(
        np.outer(hi - centers[y], hi - centers[y]) for hi, y in zip(h, labels, strict=True)
    )
    got = dekm.within_class_scatter(
        torch.as_tensor(h), torch.as_tensor(labels), torch.as_tensor(centers)
    )
    assert np.allclose(got.numpy(), expected)


def test_rotation_sorts_eigenvectors_by_ascending_eigenvalue():
    # S_w = diag(5, 1): the least-scattered direction e2 comes first, e1 (most scatter) last
    V = dekm.rotation(torch.tensor([[5.0, 0.0], [0.0, 1.0]]))
    assert torch.allclose(V.abs(), torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
    S = torch.tensor([[2.0, 1.0], [1.0, 2.0]])  # eigenvalues 1 and 3
    V = dekm.rotation(S)
    assert torch.allclose(V.T @ V, torch.eye(2), atol=1e-6)
    assert torch.allclose(V.T @ S @ V, torch.diag(torch.tensor([1.0, 3.0])), atol=1e-6)


def test_greedy_targets_replace_only_the_last_dimension_hand_values():
    h = torch.tensor([[1.0, 2.0], [3.0, 5.0]])
    centers = torch.tensor([[0.0, 0.0], [4.0, 4.0]])
    labels = torch.tensor([1, 0])
    V = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # y = Vᵀh swaps the coordinates
    # y = (2, 1) and (5, 3); last entries become those of Vᵀμ: 4 and 0
    targets = dekm.greedy_targets(h, labels, centers, V)
    assert torch.equal(targets, torch.tensor([[2.0, 4.0], [5.0, 0.0]]))
    # Eq. 6 at y = Vᵀh: only the last dimension contributes; mean over dims and batch
    loss = dekm.representation_loss(h @ V, targets).item()
    assert loss == pytest.approx(((1 - 4) ** 2 + (3 - 0) ** 2) / 4)


def test_warm_kmeans_keeps_cluster_identities():
    h = torch.tensor([[0.0], [0.2], [5.0], [5.2], [9.0]])
    labels = torch.tensor([1, 1, 0, 0, 0])  # cluster 0 = the right-hand points
    new_labels, centers = dekm.kmeans_warm(h, labels, torch.zeros(2, 1), max_iter=100)
    assert new_labels.tolist() == [1, 1, 0, 0, 0]
    assert torch.allclose(centers, torch.tensor([[19.2 / 3], [0.1]]))


def test_one_step_lowers_eq6(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    labels = torch.as_tensor(tiny_init.labels)
    centers = torch.as_tensor(tiny_init.centers)
    h = embed(tiny_ae, X)
    V = dekm.rotation(dekm.within_class_scatter(h, labels, centers))
    targets = dekm.greedy_targets(h, labels, centers, V)
    before = dekm.representation_loss(h @ V, targets).item()
    params = dekm.DEKMParams(max_iter=1, update_interval=1, batch_size=len(X), lr=1e-5)
    result = dekm.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    ae = copy.deepcopy(tiny_ae)
    ae.load_state_dict(result.state["autoencoder"])
    assert dekm.representation_loss(embed(ae, X) @ V, targets).item() < before
    # the decoder was dropped: it never changes
    assert torch.equal(ae.decoder[0].weight, tiny_ae.decoder[0].weight)


def test_stops_when_fewer_than_tol_labels_change(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    # tol above 1: the first comparison (after update_interval steps) always stops training
    params = dekm.DEKMParams(update_interval=4, max_iter=1000, batch_size=32, tol=1.01)
    result = dekm.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    assert [r["step"] for r in result.history if "delta_label" in r] == [0, 4]
    # tol 0 never stops early: max_iter steps, then the final embedding is clustered once more
    params = dekm.DEKMParams(update_interval=4, max_iter=12, batch_size=32, tol=0.0)
    result = dekm.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    assert [r["step"] for r in result.history if "delta_label" in r] == [0, 4, 8, 12]
    nearest = torch.cdist(torch.as_tensor(result.embedding), torch.as_tensor(result.centers))
    assert (nearest.argmin(1).numpy() == result.labels).all()  # a k-means fixed point
