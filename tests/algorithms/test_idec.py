import copy

import pytest
import torch
import torch.nn.functional as F

from deepclust import losses
from deepclust.algorithms import dec, idec


def test_total_loss_is_reconstruction_plus_gamma_times_kl():
    assert idec.total_loss(torch.tensor(0.5), torch.tensor(2.0), gamma=0.1).item() == pytest.approx(
        0.7
    )


def test_history_holds_both_terms_and_the_decoder_is_trained(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    # γ = 0.5, not the paper's 0.1: the configured weight is the one trained with
    params = idec.IDECParams(update_interval=3, max_iter=10, batch_size=32, gamma=0.5)
    result = idec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    rows = [r for r in result.history if "reconstruction" in r]
    assert len(rows) == 4  # one per epoch of 3 batches, the last one partial
    for row in rows:
        assert row["loss"] == pytest.approx(row["reconstruction"] + 0.5 * row["clustering"])
    decoder = result.state["autoencoder"]["decoder.0.weight"]
    assert not torch.equal(decoder, tiny_ae.state_dict()["decoder.0.weight"])


def test_gamma_zero_clustering_still_moves_with_encoder_but_differs_from_dec(
    blobs, tiny_ae, tiny_init
):
    X, _ = blobs
    kwargs = {
        "update_interval": 3,
        "max_iter": 10,
        "batch_size": 32,
        "optimizer": "sgd",
        "lr": 0.01,
    }
    a = idec.fit(
        tiny_ae,
        X,
        tiny_init,
        idec.IDECParams(**kwargs),
        generator=torch.Generator(),
        progress=False,
    )
    b = dec.fit(
        tiny_ae, X, tiny_init, dec.DECParams(**kwargs), generator=torch.Generator(), progress=False
    )
    assert not (a.embedding == b.embedding).all()


def test_one_step_lowers_the_total_loss(blobs, tiny_ae, tiny_init):
    X, _ = blobs

    def loss(ae, centers, p=None):
        with torch.no_grad():
            z = ae.encode(X)
            q = losses.soft_assignment(z, centers)
            p = losses.target_distribution(q) if p is None else p
            rec = F.mse_loss(ae.decode(z), X)
            return idec.total_loss(rec, losses.kl_divergence(p, q), 0.1).item(), p

    before, p = loss(tiny_ae, torch.as_tensor(tiny_init.centers))
    params = idec.IDECParams(update_interval=1, max_iter=1, batch_size=len(X), tol=0.0)
    result = idec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    ae = copy.deepcopy(tiny_ae)
    ae.load_state_dict(result.state["autoencoder"])
    assert loss(ae, result.state["centers"], p)[0] < before


def test_with_gamma_zero_the_reconstruction_trains_the_encoder(blobs, tiny_ae, tiny_init):
    """γ = 0 leaves the reconstruction alone: one Adam step must move the encoder (through the
    decoder's input z) and lower the MSE; the centers, whose only gradient is γ · KL, stay."""
    X, _ = blobs
    params = idec.IDECParams(gamma=0.0, update_interval=1, max_iter=1, batch_size=len(X), lr=0.01)
    result = idec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    ae = copy.deepcopy(tiny_ae)
    ae.load_state_dict(result.state["autoencoder"])
    assert not torch.equal(ae.encoder[0].weight, tiny_ae.encoder[0].weight)
    with torch.no_grad():
        assert F.mse_loss(ae(X), X) < F.mse_loss(tiny_ae(X), X)
    assert torch.equal(result.state["centers"], torch.as_tensor(tiny_init.centers))
