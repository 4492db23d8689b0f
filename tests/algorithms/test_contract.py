"""What every registered algorithm's ``fit`` promises (base.py): same generator → same
result, the caller's autoencoder untouched, its own labels for every sample."""

import numpy as np
import pytest
import torch

from deepclust.algorithms import ALGORITHMS

# Tiny settings per algorithm: a few steps on the 90-point blobs.
TINY = {
    "aekm": {},
    "dec": {"update_interval": 3, "max_iter": 30, "batch_size": 32},
    "idec": {"update_interval": 3, "max_iter": 30, "batch_size": 32},
    "dcn": {"epochs": 3, "batch_size": 32},
    "aec": {"epochs": 4, "batch_size": 32},
    "dkm": {"annealing": True, "n_alphas": 3, "epochs_per_alpha": 2, "batch_size": 32},
    "dekm": {"update_interval": 3, "max_iter": 15, "batch_size": 32, "tol": 0.0},
}


def test_every_algorithm_has_tiny_settings_here():
    assert set(TINY) == set(ALGORITHMS)


@pytest.mark.parametrize("name", sorted(TINY))
def test_fit_is_deterministic_and_leaves_the_callers_autoencoder_alone(
    name, blobs, tiny_ae, tiny_init
):
    algorithm = ALGORITHMS[name]
    X, _ = blobs
    before = {k: v.clone() for k, v in tiny_ae.state_dict().items()}
    params = algorithm.params(**TINY[name])
    runs = [
        algorithm.fit(
            tiny_ae,
            X,
            tiny_init,
            params,
            generator=torch.Generator().manual_seed(1),
            progress=False,
        )
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].labels, runs[1].labels)
    assert np.array_equal(runs[0].embedding, runs[1].embedding)
    assert all(torch.equal(before[k], v) for k, v in tiny_ae.state_dict().items())
    labels = runs[0].labels
    assert labels.shape == (len(X),) and labels.min() >= 0 and labels.max() < 3
    assert runs[0].embedding.shape == (len(X), tiny_ae.embedding_dim)
