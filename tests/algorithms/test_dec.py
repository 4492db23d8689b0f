import copy
import math

import pytest
import torch

from deepclust.algorithms import dec
from deepclust.losses import kl_divergence, soft_assignment, target_distribution
from deepclust.models.autoencoder import embed


def test_soft_assignment_hand_values():
    z = torch.tensor([[0.0, 0.0]])
    centers = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    # (1 + 0)^-1 = 1 and (1 + 1)^-1 = 0.5, normalised
    assert torch.allclose(soft_assignment(z, centers), torch.tensor([[2 / 3, 1 / 3]]))
    # α = 3: (1 + 1/3)^-2 = 0.5625
    q = soft_assignment(z, centers, alpha=3.0)
    assert torch.allclose(q, torch.tensor([[1 / 1.5625, 0.5625 / 1.5625]]))


def test_target_distribution_hand_values():
    q = torch.tensor([[2 / 3, 1 / 3], [1 / 3, 2 / 3]])
    # f = (1, 1); q² rows (4/9, 1/9) → (0.8, 0.2)
    assert torch.allclose(target_distribution(q), torch.tensor([[0.8, 0.2], [0.2, 0.8]]))
    # unequal cluster frequencies: f = (1.5, 0.5) down-weights the big cluster
    q = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    w = torch.tensor([[0.25 / 1.5, 0.25 / 0.5], [1 / 1.5, 0.0]])
    assert torch.allclose(target_distribution(q), w / w.sum(1, keepdim=True))


def test_kl_loss_hand_value_and_batch_mean():
    p = torch.tensor([[0.8, 0.2]])
    q = torch.tensor([[2 / 3, 1 / 3]])
    expected = 0.8 * math.log(0.8 / (2 / 3)) + 0.2 * math.log(0.2 / (1 / 3))
    assert kl_divergence(p, q).item() == pytest.approx(expected)
    # the mean over the batch, not the sum; a p with zeros is fine
    p2 = torch.tensor([[0.8, 0.2], [1.0, 0.0]])
    q2 = torch.tensor([[2 / 3, 1 / 3], [0.5, 0.5]])
    assert kl_divergence(p2, q2).item() == pytest.approx((expected + math.log(2)) / 2)


def test_stops_when_fewer_than_tol_labels_change(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    # tol above 1: the first comparison (after update_interval steps) always stops training
    params = dec.DECParams(update_interval=4, max_iter=1000, batch_size=32, tol=1.01)
    result = dec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    updates = [row for row in result.history if "delta_label" in row]
    assert [row["step"] for row in updates] == [0, 4]
    # tol 0 never stops early: it runs to max_iter
    params = dec.DECParams(update_interval=4, max_iter=12, batch_size=32, tol=0.0)
    result = dec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    assert result.history[-1]["step"] == 12


def test_dec_trains_centers_and_encoder_but_not_decoder(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = dec.DECParams(update_interval=3, max_iter=10, batch_size=32)
    result = dec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    state = result.state["autoencoder"]
    assert not torch.equal(state["encoder.0.weight"], tiny_ae.state_dict()["encoder.0.weight"])
    assert torch.equal(state["decoder.0.weight"], tiny_ae.state_dict()["decoder.0.weight"])
    assert not torch.allclose(result.state["centers"], torch.as_tensor(tiny_init.centers))


def test_one_step_lowers_kl_with_the_target_held_fixed(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    centers = torch.as_tensor(tiny_init.centers)
    q = soft_assignment(embed(tiny_ae, X), centers)
    p = target_distribution(q)
    before = kl_divergence(p, q).item()
    params = dec.DECParams(update_interval=1, max_iter=1, batch_size=len(X), lr=0.001)
    result = dec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    ae = copy.deepcopy(tiny_ae)
    ae.load_state_dict(result.state["autoencoder"])
    after = kl_divergence(p, soft_assignment(embed(ae, X), result.state["centers"])).item()
    assert after < before


def test_the_loss_trained_is_kl_of_p_and_q_with_alpha(blobs, tiny_ae, tiny_init):
    """lr 0 and one full batch: the logged loss is KL(P‖Q) of the untrained network, with Q
    (Eq. 14) and P (Eq. 15) both computed with the configured α."""
    X, _ = blobs
    params = dec.DECParams(alpha=3.0, update_interval=1, max_iter=1, batch_size=len(X), lr=0.0)
    result = dec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    q = soft_assignment(embed(tiny_ae, X), torch.as_tensor(tiny_init.centers), alpha=3.0)
    expected = kl_divergence(target_distribution(q), q).item()
    logged = next(row["loss"] for row in result.history if "loss" in row)
    assert logged == pytest.approx(expected, rel=1e-5)
    q1 = soft_assignment(embed(tiny_ae, X), torch.as_tensor(tiny_init.centers), alpha=1.0)
    assert logged != pytest.approx(kl_divergence(target_distribution(q1), q1).item(), rel=1e-3)
