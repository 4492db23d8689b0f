"""Data augmentation in the refinements (survey Sec. 5.2, Eq. 20-25), on tiny 4×4 images."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepclust import augment, losses
from deepclust.algorithms import ALGORITHMS, aec, dcn, dkm
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed

# One step on the full batch of 60 images per algorithm (k-means init everywhere).
ONE_STEP = {
    "dec": {"update_interval": 1, "max_iter": 1, "optimizer": "sgd"},
    "idec": {"update_interval": 1, "max_iter": 1, "optimizer": "sgd", "gamma": 0.5},
    "aec": {"epochs": 1, "init": "kmeans", "lam": 0.5},
    "dcn": {"epochs": 1, "lam": 0.5, "optimizer": "sgd"},
    "dkm": {"alpha": 1.0, "n_alphas": 1, "epochs_per_alpha": 1, "lam": 0.5, "optimizer": "sgd"},
}


@pytest.fixture
def images() -> torch.Tensor:
    """60 images of 4×4 pixels around three random prototypes, values in [0, 1]."""
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(0.1, 0.9, size=(3, 16))
    X = prototypes[np.repeat(np.arange(3), 20)] + 0.05 * rng.standard_normal((60, 16))
    return torch.tensor(X, dtype=torch.float32)


@pytest.fixture
def image_ae() -> FeedforwardAutoencoder:
    torch.manual_seed(0)
    return FeedforwardAutoencoder([16, 8, 3], image_shape=(1, 4, 4))


@pytest.fixture
def image_init(images, image_ae):
    return kmeans_init(embed(image_ae, images).numpy(), 3, n_init=5, max_iter=100, seed=0)


def _fit(name, ae, X, init, seed=0, **overrides):
    algorithm = ALGORITHMS[name]
    params = algorithm.params(**{"batch_size": len(X), **ONE_STEP[name], **overrides})
    generator = torch.Generator().manual_seed(seed)
    return algorithm.fit(ae, X, init, params, generator=generator, progress=False)


def _first_loss(result) -> float:
    return next(row["loss"] for row in result.history if "loss" in row)


def test_eq_20_hand_values_with_the_mse_and_with_a_methods_own_distance():
    def decode(z):
        return 2 * z

    x, z = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, 0.5]])  # x̂ = (1, 1): MSE 0.5
    x_aug, z_aug = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]])  # x̂^A = (2, 0): MSE 2
    assert losses.reconstruction_loss(decode, x, z).item() == pytest.approx(0.5)
    assert losses.reconstruction_loss(decode, x, z, x_aug, z_aug).item() == pytest.approx(1.25)

    def summed(x_hat, x):  # DKM's: summed over features
        return (x_hat - x).pow(2).sum(dim=1).mean()

    rec = losses.reconstruction_loss(decode, x, z, x_aug, z_aug, distance=summed)
    assert rec.item() == pytest.approx(0.5 * (1 + 4))


def test_eq_24_hand_value_and_reduction_to_dec():
    p = torch.tensor([[0.8, 0.2]])
    q = torch.tensor([[2 / 3, 1 / 3]])
    q_aug = torch.tensor([[0.5, 0.5]])
    kl = 0.8 * math.log(0.8 / (2 / 3)) + 0.2 * math.log(0.2 / (1 / 3))
    kl_aug = 0.8 * math.log(0.8 / 0.5) + 0.2 * math.log(0.2 / 0.5)
    assert losses.augmented_kl_divergence(p, q, q_aug).item() == pytest.approx((kl + kl_aug) / 2)
    assert losses.augmented_kl_divergence(p, q, q).item() == pytest.approx(kl)


def test_eq_22_hand_values_for_aec_and_dcn_and_reduction_to_the_plain_loss():
    z = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z_aug = torch.tensor([[0.0, 2.0], [0.0, 1.0]])
    assigned = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    # ‖z − μ‖² = (1, 1), ‖z^A − μ‖² = (4, 0): 1/(2·2) · (1 + 1 + 4 + 0)
    assert aec.augmented_clustering_loss(z, z_aug, assigned).item() == pytest.approx(1.5)
    assert dcn.augmented_clustering_loss(z, z_aug, assigned).item() == pytest.approx(0.75)
    for module in (aec, dcn):
        plain = module.clustering_loss(z, assigned).item()
        assert module.augmented_clustering_loss(z, z, assigned).item() == pytest.approx(plain)


def test_dkm_weights_the_augmented_distances_by_the_original_assignment():
    z = torch.tensor([[0.0, 0.0]])
    z_aug = torch.tensor([[1.0, 0.0]])
    mu = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # ‖z − μ‖² = (1, 4), ‖z^A − μ‖² = (0, 5)
    e1, e2 = math.exp(-0.5), math.exp(-2.0)  # G(z) for α = 0.5, not G(z^A)
    expected = 0.5 * ((1 + 0) * e1 + (4 + 5) * e2) / (e1 + e2)
    loss = dkm.augmented_clustering_loss(z, z_aug, mu, alpha=0.5)
    assert loss.item() == pytest.approx(expected)
    plain = dkm.clustering_loss(z, mu, alpha=0.5).item()
    assert dkm.augmented_clustering_loss(z, z, mu, alpha=0.5).item() == pytest.approx(plain)


def _expected_loss(name, ae, X, init, params) -> float:
    """The augmented loss of the untrained ``ae`` on all of ``X``, written out from the survey,
    with x^A = X turned by 180° (the flat row reversed)."""
    X_aug = X.flip(1)
    with torch.no_grad():
        z, z_aug = ae.encode(X), ae.encode(X_aug)
        rec = 0.5 * (F.mse_loss(ae.decode(z), X) + F.mse_loss(ae.decode(z_aug), X_aug))  # Eq. 20
        centers = torch.as_tensor(init.centers)
        labels = torch.as_tensor(init.labels)
        if name in ("dec", "idec"):  # Eq. 24-25
            q, q_aug = losses.soft_assignment(z, centers), losses.soft_assignment(z_aug, centers)
            p = losses.target_distribution(q)
            clust = 0.5 * (losses.kl_divergence(p, q) + losses.kl_divergence(p, q_aug))
            return float(clust if name == "dec" else rec + params.gamma * clust)
        if name in ("aec", "dcn"):  # Eq. 22, for DCN with Eq. 9's ½
            if name == "aec":
                centers = aec.cluster_means(z, labels, centers)
            mu = centers[labels]
            scale = 0.5 if name == "dcn" else 1.0  # DCN's Eq. 9 has a ½, AEC's Eq. 8 none
            dist = (z - mu).pow(2).sum(1) + (z_aug - mu).pow(2).sum(1)
            return float(rec + params.lam * scale * 0.5 * dist.mean())
        # DKM: Eq. 20 with its summed squared error; G from z only (survey, after Eq. 25)
        rec = (X - ae.decode(z)).pow(2).sum(1) + (X_aug - ae.decode(z_aug)).pow(2).sum(1)
        d2, d2_aug = torch.cdist(z, centers).pow(2), torch.cdist(z_aug, centers).pow(2)
        g = torch.softmax(-params.alpha * d2, dim=1)
        clust = ((d2 + d2_aug) * g).sum(1)
        return float(0.5 * rec.mean() + params.lam * 0.5 * clust.mean())


@pytest.mark.parametrize("name", sorted(ONE_STEP))
def test_the_loss_trained_is_the_augmented_loss(name, images, image_ae, image_init, monkeypatch):
    monkeypatch.setattr(augment, "random_affine", lambda x, **_: x.flip(1))
    # lr 0: the first history row is the loss of the untrained network on the whole data
    result = _fit(name, image_ae, images, image_init, augment=True, lr=0.0)
    params = ALGORITHMS[name].params(**ONE_STEP[name])
    expected = _expected_loss(name, image_ae, images, image_init, params)
    assert _first_loss(result) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", sorted(ONE_STEP))
def test_an_identity_augmentation_trains_like_no_augmentation(
    name, images, image_ae, image_init, monkeypatch
):
    calls = []

    def identity(x, **_):
        calls.append(len(x))
        return x.clone()

    monkeypatch.setattr(augment, "random_affine", identity)
    kwargs = {"batch_size": 16, "lr": 0.01}
    plain = _fit(name, image_ae, images, image_init, **kwargs)
    assert not calls
    augmented = _fit(name, image_ae, images, image_init, augment=True, **kwargs)
    assert calls  # the augmented losses were used
    assert np.array_equal(plain.labels, augmented.labels)
    assert np.allclose(plain.embedding, augmented.embedding, atol=1e-5)
    assert _first_loss(augmented) == pytest.approx(_first_loss(plain), rel=1e-5)


@pytest.mark.parametrize("name", sorted(ONE_STEP))
def test_real_augmentation_changes_the_loss_and_is_deterministic(
    name, images, image_ae, image_init
):
    kwargs = {"batch_size": 16, "lr": 0.01}
    plain = _fit(name, image_ae, images, image_init, **kwargs)
    a, b = (_fit(name, image_ae, images, image_init, augment=True, **kwargs) for _ in range(2))
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.embedding, b.embedding)
    assert a.history == b.history
    assert _first_loss(a) != pytest.approx(_first_loss(plain), rel=1e-4)


@pytest.mark.parametrize("name", sorted(ONE_STEP))
def test_augment_without_image_shape_is_an_error(name, blobs, tiny_ae, tiny_init):
    X, _ = blobs
    with pytest.raises(ValueError, match=rf"algorithms\.{name}\.augment needs image data"):
        _fit(name, tiny_ae, X, tiny_init, augment=True)
