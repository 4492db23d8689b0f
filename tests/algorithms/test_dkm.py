import copy
import itertools
import math

import numpy as np
import pytest
import torch

from deepclust.algorithms import ALGORITHMS, dkm


def test_soft_assignment_and_loss_hand_values():
    z = torch.tensor([[0.0, 0.0]])
    mu = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # squared distances 1 and 4
    g = dkm.soft_assignment(z, mu, alpha=0.5)
    e1, e2 = math.exp(-0.5), math.exp(-2.0)
    assert torch.allclose(g, torch.tensor([[e1 / (e1 + e2), e2 / (e1 + e2)]]))
    expected = 1 * e1 / (e1 + e2) + 4 * e2 / (e1 + e2)
    assert dkm.clustering_loss(z, mu, alpha=0.5).item() == pytest.approx(expected)
    # large α: G is the hard nearest-center indicator of Eq. 17 and the loss k-means' own
    assert dkm.clustering_loss(z, mu, alpha=1000.0).item() == pytest.approx(1.0)


def test_losses_match_an_independent_numpy_formula():
    rng = np.random.default_rng(0)
    x, x_hat = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    z, mu = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    d2 = ((z[:, None, :] - mu[None]) ** 2).sum(-1)
    g = np.exp(-2.0 * d2) / np.exp(-2.0 * d2).sum(1, keepdims=True)
    t = torch.as_tensor
    assert dkm.clustering_loss(t(z), t(mu), 2.0).item() == pytest.approx((d2 * g).sum(1).mean())
    # reconstruction: summed over features, averaged over the batch (authors' code)
    rec = ((x - x_hat) ** 2).sum(1).mean()
    assert dkm.reconstruction_loss(t(x_hat), t(x)).item() == pytest.approx(rec)
    assert dkm.total_loss(t(1.0), t(2.0), 0.1).item() == pytest.approx(1.2)


def test_alpha_schedules():
    assert dkm.alpha_schedule(dkm.DKMParams()) == [1000.0] * 20
    params = ALGORITHMS["dkm"].params_from_config({"preset": "annealing"})
    alphas = dkm.alpha_schedule(params)
    assert len(alphas) == 40 and params.lam == 0.1 and alphas[0] == 0.1
    # α_2 = 2^(1/ln(2)²) · 0.1, α_3 = 2^(1/ln(3)²) · α_2: increasing, ever slower
    assert alphas[1] == pytest.approx(0.1 * 2 ** (1 / math.log(2) ** 2))
    assert alphas[2] == pytest.approx(alphas[1] * 2 ** (1 / math.log(3) ** 2))
    ratios = [b / a for a, b in itertools.pairwise(alphas)]
    assert all(r > 1 for r in ratios) and ratios == sorted(ratios, reverse=True)


def test_one_step_lowers_the_loss_and_moves_the_centers(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = dkm.DKMParams(alpha=1.0, n_alphas=1, epochs_per_alpha=1, batch_size=len(X))

    def loss(ae, centers):
        with torch.no_grad():
            z = ae.encode(X)
            rec = dkm.reconstruction_loss(ae.decode(z), X)
            return dkm.total_loss(rec, dkm.clustering_loss(z, centers, 1.0), params.lam).item()

    before = loss(tiny_ae, torch.as_tensor(tiny_init.centers))
    result = dkm.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    ae = copy.deepcopy(tiny_ae)
    ae.load_state_dict(result.state["autoencoder"])
    assert loss(ae, result.state["centers"]) < before
    assert not torch.allclose(result.state["centers"], torch.as_tensor(tiny_init.centers))


def test_history_has_one_row_per_alpha_and_labels_are_the_most_probable_centers(
    blobs, tiny_ae, tiny_init
):
    X, _ = blobs
    params = dkm.DKMParams(annealing=True, n_alphas=3, epochs_per_alpha=2, batch_size=32)
    result = dkm.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    assert [r["alpha"] for r in result.history if "alpha" in r] == dkm.alpha_schedule(params)
    z = torch.as_tensor(result.embedding)
    g = dkm.soft_assignment(z, torch.as_tensor(result.centers), 1000.0)
    assert (g.argmax(1).numpy() == result.labels).all()


def test_loss_is_reconstruction_plus_lambda_times_the_clustering_term(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = dkm.DKMParams(lam=0.5, n_alphas=2, epochs_per_alpha=1, batch_size=32)  # not 1
    result = dkm.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    rows = [r for r in result.history if "loss" in r]
    assert len(rows) == 2
    for row in rows:
        assert row["loss"] == pytest.approx(row["reconstruction"] + 0.5 * row["clustering"])


def test_the_gradient_flows_through_the_soft_assignment():
    """Eq. 19 differentiates G too: autograd's gradient of the loss in z and μ must match
    finite differences (a G treated as a constant gives another gradient)."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z, mu: dkm.clustering_loss(z, mu, 0.5), (z, mu))
