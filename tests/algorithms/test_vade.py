import math

import numpy as np
import pytest
import torch

from deepclust import metrics
from deepclust.algorithms import vade
from tests.algorithms.pretrained import kmeans_start, pretrained_tiny


def prior(weights, means, variances):
    return vade.GaussianMixturePrior(np.array(weights), np.array(means), np.array(variances))


def test_responsibilities_hand_values():
    p = prior([0.5, 0.5], [[0.0], [2.0]], [[1.0], [1.0]])
    gamma = p.responsibilities(torch.tensor([[1.0], [0.0]]))
    # z = 1 is as far from both means; z = 0: 1 / (1 + exp(−(0 − 2)²/2 + 0))
    assert gamma[0].tolist() == pytest.approx([0.5, 0.5])
    assert gamma[1, 0].item() == pytest.approx(1 / (1 + math.exp(-2)))


def test_one_cluster_loss_is_reconstruction_plus_the_gaussian_kl():
    p = prior([1.0], [[0.0]], [[1.0]])
    x, x_hat = torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]])
    mu, log_var = torch.tensor([[0.5]]), torch.tensor([[0.0]])
    terms = vade.negative_elbo(x, x_hat, mu, log_var, mu, p, alpha=1.0)
    # Σ (x − x̂)² = 1; KL(N(0.5, 1) ‖ N(0, 1)) = ½(1 + 0.25 − 1 − 0) = 0.125
    assert terms["reconstruction"].item() == pytest.approx(1.0)
    assert terms["kl"].item() == pytest.approx(0.125)
    assert terms["loss"].item() == pytest.approx(1.125)
    weighted = vade.negative_elbo(x, x_hat, mu, log_var, mu, p, alpha=3.0)
    assert weighted["reconstruction"].item() == pytest.approx(3.0)  # α Σ (x − x̂)²
    assert weighted["loss"].item() == pytest.approx(3.125)


def test_cluster_term_is_the_kl_of_gamma_from_pi_plus_the_expected_gaussian_kl():
    p = prior([0.25, 0.75], [[0.0], [2.0]], [[1.0], [4.0]])
    mu, log_var, z = torch.tensor([[1.0]]), torch.tensor([[math.log(0.5)]]), torch.tensor([[0.5]])
    terms = vade.negative_elbo(torch.zeros(1, 1), torch.zeros(1, 1), mu, log_var, z, p, 1.0)
    g = p.responsibilities(z)[0].tolist()
    kl_c = [  # KL(N(1, 0.5) ‖ N(μ_c, σ²_c)) = ½(log σ²_c − log 0.5 + (0.5 + (1 − μ_c)²)/σ²_c − 1)
        0.5 * (0 - math.log(0.5) + (0.5 + 1) / 1 - 1),
        0.5 * (math.log(4) - math.log(0.5) + (0.5 + 1) / 4 - 1),
    ]
    expected = sum(
        gc * (kc + math.log(gc / pc)) for gc, kc, pc in zip(g, kl_c, [0.25, 0.75], strict=True)
    )
    assert terms["kl"].item() == pytest.approx(expected)


def test_the_default_reconstruction_weight_is_the_gaussian_one_for_the_aes_noise():
    class Halve(torch.nn.Module):  # x̂ = x/2: squared errors x²/4
        def forward(self, x):
            return x / 2

    X = torch.tensor([[2.0, 0.0], [2.0, 4.0]])
    assert vade.noise_variance(Halve(), X, batch_size=1) == pytest.approx((1 + 0 + 1 + 4) / 4)


def test_fit_keeps_the_clusters_and_raises_the_elbo(blobs):
    X, y = blobs
    start_ae = pretrained_tiny(X)
    params = vade.VaDEParams(epochs=30, batch_size=30, lr=0.002)
    result = vade.fit(
        start_ae, X, kmeans_start(start_ae, X, 3), params, generator=torch.Generator(),
        progress=False,
    )  # fmt: skip
    assert metrics.acc(y, result.labels) == 1.0
    epochs = [row for row in result.history if "kl" in row]
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    assert result.state["mixture_weights"].sum().item() == pytest.approx(1.0)
    assert result.centers.shape == (3, 3)
    assert result.history[-1]["reconstruction_weight"] == pytest.approx(
        1 / (2 * vade.noise_variance(start_ae, X))
    )
