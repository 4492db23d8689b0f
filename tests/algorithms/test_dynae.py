import numpy as np
import pytest
import torch

from deepclust.algorithms import dynae
from deepclust.algorithms.base import InitialClustering
from deepclust.algorithms.dec import soft_assignment
from deepclust.algorithms.dynae import (
    centroid_embeddings,
    drop_confidence,
    dynamic_loss,
    unconflicted,
)
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.seeding import seed_everything


def test_unconflicted_rule_eq6_hand_values():
    q = torch.tensor(
        [
            [0.5, 0.25, 0.25],  # h1 = β1 and h1 − h2 = β2: unconflicted (≥)
            [0.5, 0.375, 0.125],  # margin 0.125 < β2
            [0.375, 0.125, 0.5],  # the same, largest value last
            [0.25, 0.0, 0.75],  # confident
            [0.4375, 0.125, 0.4375],  # h1 < β1
            [0.5, 0.5, 0.0],  # a tie: h2 = h1, so conflicted
        ]
    )
    expected = torch.tensor([True, False, False, True, False, False])
    assert torch.equal(unconflicted(q, 0.5, 0.25), expected)
    assert torch.equal(unconflicted(torch.ones(2, 1), 0.3, 0.15), torch.tensor([True, True]))


def test_centroid_embeddings_are_the_nearest_samples_embeddings():
    z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]])
    centers = torch.tensor([[5.2, 5.0], [0.9, 0.1]])
    assert torch.equal(centroid_embeddings(z, centers), torch.tensor([[5.0, 5.0], [1.0, 0.0]]))


def test_confidence_drops_follow_algorithm1_with_kappa_drop_times_kappa():
    beta1, beta2, kappa = 0.3, 0.15, 0.3  # κ = 0.3 K (Sec. 4.3), Eq. 10
    expected = [(0.21, 0.06, 0.09), (0.183, 0.033, 0.027), (0.1749, 0.0249, 0.0081)]
    for want in expected:
        beta1, beta2, kappa = drop_confidence(beta1, beta2, kappa, 0.3)
        assert (beta1, beta2, kappa) == pytest.approx(want)


def test_dynamic_loss_hand_values():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    x_hat = torch.tensor([[1.0, 0.0], [3.0, 6.0]])
    z = torch.tensor([[1.0], [2.0]])
    target_z = torch.tensor([[3.0], [0.0]])
    target_x = torch.tensor([[2.0, 2.0], [0.0, 0.0]])
    terms = dynamic_loss(x, z, x_hat, torch.tensor([True, False]), target_z, target_x)
    assert terms["reconstruction"].item() == pytest.approx((0 + 4) / 2 / 2)  # row 1 only
    assert terms["construction"].item() == pytest.approx((1 + 4) / 2 / 2)  # row 0 only
    assert terms["embedded_clustering"].item() == pytest.approx(4 / 2)  # row 0 only
    assert terms["loss"].item() == pytest.approx(1 + 1.25 + 2)


@pytest.fixture
def image_ae(tiny_images):
    seed_everything(0)
    return FeedforwardAutoencoder([64, 16, 3], image_shape=(1, 8, 8))


@pytest.fixture
def image_init(tiny_images, image_ae):
    X, _ = tiny_images
    return kmeans_init(embed(image_ae, X).numpy(), 3, n_init=5, max_iter=100, seed=0)


def fit(ae, X, init, **params):
    return dynae.fit(
        ae, X, init, dynae.DynAEParams(**params),
        generator=torch.Generator().manual_seed(0), progress=False,
    )  # fmt: skip


def test_short_augmented_fit_is_deterministic_and_logs_conflicted_points(
    tiny_images, image_ae, image_init
):
    X, _ = tiny_images
    settings = {"update_interval": 3, "max_iter": 12, "batch_size": 32, "tol": 0.0, "lr": 0.1}
    settings["kmeans_n_init"] = 2
    runs = [fit(image_ae, X, image_init, **settings) for _ in range(2)]
    assert np.array_equal(runs[0].labels, runs[1].labels)
    assert np.array_equal(runs[0].embedding, runs[1].embedding)
    assert runs[0].history == runs[1].history
    checks = [row for row in runs[0].history if "n_conflicted" in row]
    assert [row["step"] for row in checks] == [0, 3, 6, 9]
    # the first count, before any step: the initial 1NN centroids and β1 = 0.3, β2 = 0.15
    centroids = centroid_embeddings(embed(image_ae, X), torch.as_tensor(image_init.centers))
    q = soft_assignment(embed(image_ae, X), centroids)
    assert checks[0]["n_conflicted"] == int((~unconflicted(q, 0.3, 0.15)).sum())
    epochs = [row for row in runs[0].history if "loss" in row]
    assert epochs and all(
        k in row
        for row in epochs
        for k in ("reconstruction", "construction", "embedded_clustering")
    )
    # the labels are DynAE's own: argmax q with the final centroids
    q = soft_assignment(torch.as_tensor(runs[0].embedding), torch.as_tensor(runs[0].centers))
    assert np.array_equal(runs[0].labels, q.argmax(dim=1).numpy())
    # the batches are transformed: without augmentation the run differs
    plain = fit(image_ae, X, image_init, **settings, augment=False)
    assert not np.array_equal(plain.embedding, runs[0].embedding)


@pytest.fixture
def sharp(blobs, tiny_ae):
    """The tiny autoencoder with a spread-out embedding (q far from uniform) and its k-means."""
    X, _ = blobs
    with torch.no_grad():
        tiny_ae.encoder[-1].weight.mul_(30)
    return tiny_ae, kmeans_init(embed(tiny_ae, X).numpy(), 3, n_init=5, max_iter=100, seed=0)


def test_centroids_and_betas_are_updated_when_the_count_stops_decreasing(blobs, sharp):
    X, _ = blobs
    ae, init = sharp
    result = fit(
        ae, X, init, update_interval=2, max_iter=20, batch_size=32, tol=0.0,
        augment=False, kappa=0.8, optimizer="adam", lr=0.01, kmeans_n_init=1,
    )  # fmt: skip
    checks = [row for row in result.history if "n_conflicted" in row]
    previous, beta1, beta2, kappa = len(X), 0.8, 0.4, 0.8  # Eq. 10
    for row in checks:
        updated = row["n_conflicted"] >= previous  # Algorithm 1: nbConf ≥ nbConfPrev
        assert row["centroids_updated"] == int(updated)
        if updated:
            beta1, beta2, kappa = drop_confidence(beta1, beta2, kappa, 0.3)
        assert (row["beta1"], row["beta2"]) == pytest.approx((beta1, beta2))
        previous = row["n_conflicted"]
    assert 0 < sum(row["centroids_updated"] for row in checks) < len(checks)


def test_stops_below_tol_conflicted_and_starts_from_the_1nn_of_the_init_centers(blobs, sharp):
    X, _ = blobs
    ae, init = sharp
    result = fit(ae, X, init, update_interval=3, max_iter=30, tol=1.01, augment=False)
    [row] = result.history  # the first count stops it, before any step
    assert row["step"] == 0 and row["n_conflicted"] < len(X) and row["centroids_updated"] == 0
    embedding = torch.as_tensor(result.embedding)
    expected = centroid_embeddings(embedding, torch.as_tensor(init.centers))
    assert torch.equal(torch.as_tensor(result.centers), expected)


def test_augmentation_needs_image_data(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"algorithms\.dynae\.augment"):
        fit(tiny_ae, X, tiny_init, max_iter=3)


def test_a_stable_count_replaces_the_centroids_by_a_fresh_kmeans(blobs, tiny_ae):
    """Start from three identical centres: their 1NN is one point, q is uniform and every
    point is conflicted (κ = 1: β1 = 1), so the first count is "stable" (|X| ≥ |X|) and the
    centroids must become the 1NN embeddings of a fresh k-means, three distinct samples, one
    per blob."""
    X, y = blobs
    far = np.full((3, 3), 100.0, dtype=np.float32)
    init = InitialClustering(np.zeros(len(X), dtype=np.int64), far)
    result = fit(tiny_ae, X, init, update_interval=5, max_iter=1, kappa=1.0, augment=False)
    assert result.history[0]["centroids_updated"] == 1
    z = embed(tiny_ae, X)
    centers = torch.as_tensor(result.centers)
    rows = [torch.nonzero((z == c).all(dim=1)).flatten().tolist() for c in centers]
    assert all(len(r) == 1 for r in rows)  # each centroid is the embedding of one sample
    assert sorted(y[r[0]] for r in rows) == [0, 1, 2]
