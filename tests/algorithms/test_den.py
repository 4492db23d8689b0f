import pytest
import torch

from deepclust import metrics
from deepclust.algorithms import ALGORITHMS, den
from tests.algorithms.pretrained import kmeans_start, pretrained_tiny


def test_locality_loss_hand_value():
    z = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    z_nb = torch.tensor([[[1.0, 0.0], [0.0, 2.0]], [[1.0, 1.0], [3.0, 1.0]]])
    w = torch.tensor([[0.5, 1.0], [1.0, 0.25]])
    # sample 0: 0.5·1 + 1·4 = 4.5; sample 1: 1·0 + 0.25·4 = 1; mean 2.75
    assert den.locality_loss(z, z_nb, w).item() == pytest.approx(2.75)


def test_group_sparsity_loss_hand_value_and_finite_gradient_at_zero():
    z = torch.tensor([[3.0, 4.0, 1.0], [0.0, 0.0, -2.0]], requires_grad=True)
    # λ·mean(√2·5 + 1·1, √2·0 + 1·2) with λ = 2
    expected = 2 * (2**0.5 * 5 + 1 + 2) / 2
    loss = den.group_sparsity_loss(z, [2, 1], lam=2.0)
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    assert torch.isfinite(z.grad).all()
    assert z.grad[0, 0].item() == pytest.approx(2 * 2**0.5 * 3 / 5 / 2)  # λ √n_g z/‖z‖ / |B|


def test_reconstruction_is_eq_2_summed_over_features():
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    x_hat = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # (1/2)·((0 + 4) + (1 + 1)) = 3, not the per-feature mean 1.5
    assert den.reconstruction_loss(x, x_hat).item() == pytest.approx(3.0)


def test_groups_are_consecutive_and_need_one_feature_per_cluster():
    assert den.group_sizes(10, 10) == [1] * 10
    assert den.group_sizes(10, 3) == [4, 3, 3]
    with pytest.raises(ValueError, match="2 features, fewer than the 3 groups"):
        den.group_sizes(2, 3)


def test_neighbours_exclude_the_sample_itself():
    X = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    idx, d2 = den.neighbours(X, 1)
    assert idx[:, 0].tolist() == [1, 0, 1, 2]
    assert d2[:, 0].tolist() == [1.0, 1.0, 4.0, 16.0]
    with pytest.raises(ValueError, match=r"n_neighbors must be in \[1, 3\], got 4"):
        den.neighbours(X, 4)


def test_paper_preset_uses_table_3s_coil20_weights():
    params = ALGORITHMS["den"].params_from_config({}, "coil20")
    assert (params.alpha, params.beta, params.kmeans_n_init) == (250.0, 0.0, 100)
    assert ALGORITHMS["den"].params_from_config({}, "mnist").alpha == 0.5


def _fit(blobs, **changes):
    X, y = blobs
    ae = pretrained_tiny(X)
    start = kmeans_start(ae, X, 3)
    params = den.DENParams(epochs=15, batch_size=30, kmeans_n_init=5, lr=0.01, **changes)
    result = den.fit(ae, X, start, params, generator=torch.Generator(), progress=False)
    epochs = [row for row in result.history if "sparsity" in row]
    assert metrics.acc(y, start.labels) == 1.0
    return metrics.acc(y, result.labels), epochs[0], epochs[-1], result


def test_the_locality_constraint_pulls_neighbours_together(blobs):
    acc, first, last, result = _fit(blobs, alpha=250.0, beta=0.0)  # Table 3's COIL20 weights
    assert acc == 1.0
    assert last["locality"] < 0.2 * first["locality"]
    assert result.history[-1]["t"] > 0


def test_the_group_sparsity_constraint_shrinks_the_groups(blobs):
    acc, first, last, _ = _fit(blobs)  # the defaults: α 0.5, β 1
    assert acc == 1.0
    assert last["sparsity"] < 0.2 * first["sparsity"]


def test_the_loss_trained_weighs_the_terms_by_the_configured_alpha_beta_and_t(
    blobs, tiny_ae, tiny_init
):
    X, _ = blobs
    # α 3, β 0.5 and t 2, none of them a default: the configured values are the ones used
    params = den.DENParams(alpha=3.0, beta=0.5, t=2.0, epochs=2, batch_size=30, kmeans_n_init=1)
    result = den.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    rows = [row for row in result.history if "sparsity" in row]
    assert len(rows) == 2
    for row in rows:
        expected = row["reconstruction"] + 3.0 * row["locality"] + 0.5 * row["sparsity"]
        assert row["loss"] == pytest.approx(expected)
    assert result.history[-1]["t"] == 2.0
