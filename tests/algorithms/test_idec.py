import pytest
import torch

from deepclust.algorithms import dec, idec


def test_total_loss_is_reconstruction_plus_gamma_times_kl():
    assert idec.total_loss(torch.tensor(0.5), torch.tensor(2.0), gamma=0.1).item() == pytest.approx(
        0.7
    )


def test_history_holds_both_terms_and_the_decoder_is_trained(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    params = idec.IDECParams(update_interval=3, max_iter=10, batch_size=32, gamma=0.1)
    result = idec.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    row = next(r for r in result.history if "reconstruction" in r)
    assert row["loss"] == pytest.approx(row["reconstruction"] + 0.1 * row["clustering"], rel=1e-5)
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
