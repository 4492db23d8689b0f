import dataclasses

import numpy as np
import pytest
import torch

from deepclust.algorithms import dcec

PARAMS = dcec.DCECParams(update_interval=3, max_iter=10, batch_size=32)


def test_refuses_a_dense_autoencoder(blobs, tiny_ae, tiny_init):
    X, _ = blobs
    with pytest.raises(ValueError, match=r"dcec needs a convolutional autoencoder \(kind: conv\)"):
        dcec.fit(tiny_ae, X, tiny_init, PARAMS, generator=torch.Generator(), progress=False)
    assert dcec.ALGORITHM.autoencoder_kinds == ("conv",)


def test_paper_defaults():
    assert dcec.DCECParams() == dcec.DCECParams(
        gamma=0.1, update_interval=140, tol=0.001, max_iter=20000, batch_size=256, lr=0.001
    )
    assert dcec.DCECParams().optimizer == "adam"


def test_loss_is_reconstruction_plus_gamma_kl_and_the_decoder_trains(
    tiny_images, tiny_conv_ae, tiny_conv_init
):
    X, _ = tiny_images
    params = dataclasses.replace(PARAMS, gamma=0.5)  # not the paper's 0.1: the configured one
    result = dcec.fit(
        tiny_conv_ae, X, tiny_conv_init, params, generator=torch.Generator(), progress=False
    )
    rows = [r for r in result.history if "reconstruction" in r]
    assert rows
    for row in rows:
        assert row["loss"] == pytest.approx(row["reconstruction"] + 0.5 * row["clustering"])
    before = tiny_conv_ae.state_dict()
    after = result.state["autoencoder"]
    assert not torch.equal(after["decoder.0.weight"], before["decoder.0.weight"])
    assert not torch.equal(after["encoder.1.weight"], before["encoder.1.weight"])


def test_deterministic_given_the_generator(tiny_images, tiny_conv_ae, tiny_conv_init):
    X, _ = tiny_images
    a, b, c = (
        dcec.fit(
            tiny_conv_ae,
            X,
            tiny_conv_init,
            PARAMS,
            generator=torch.Generator().manual_seed(seed),
            progress=False,
        )
        for seed in (1, 1, 2)
    )
    assert np.array_equal(a.embedding, b.embedding) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.embedding, c.embedding)
