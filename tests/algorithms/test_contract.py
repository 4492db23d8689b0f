"""What every registered algorithm's ``fit`` promises (base.py): same generator → same
result, the caller's autoencoder untouched, its own labels for every sample."""

import numpy as np
import pytest
import torch

from deepclust.algorithms import ALGORITHMS

# Tiny settings per algorithm: a few steps on 90 samples.
TINY = {
    "aekm": {},
    "dec": {"update_interval": 3, "max_iter": 30, "batch_size": 32},
    "idec": {"update_interval": 3, "max_iter": 30, "batch_size": 32},
    "dcec": {"update_interval": 3, "max_iter": 30, "batch_size": 32},
    "dcn": {"epochs": 3, "batch_size": 32},
    "aec": {"epochs": 4, "batch_size": 32},
    "dkm": {"annealing": True, "n_alphas": 3, "epochs_per_alpha": 2, "batch_size": 32},
    "dekm": {"update_interval": 3, "max_iter": 15, "batch_size": 32, "tol": 0.0},
    # the embedding is h(x), the clustering network's last hidden layer: 3 wide like the AE's
    "damic": {
        "hidden": (16, 8),
        "classifier_hidden": (16, 3),
        "pretrain_epochs": 2,
        "epochs": 2,
        "batch_size": 32,
    },
    "dynae": {"update_interval": 3, "max_iter": 15, "batch_size": 32, "augment": False},
    "n2d": {"n_neighbors": 10},
    "den": {"epochs": 2, "batch_size": 32, "kmeans_n_init": 2},
    "ddc": {"tsne_max_iter": 250},
    "acedec": {"max_iter": 9, "batch_size": 32},
    "dipencoder": {"epochs": 2, "batch_per_cluster": 15, "min_points": 4},
    "vade": {"epochs": 2, "batch_size": 32},
}


# These find their own number of clusters, which may differ from k.
FINDS_ITS_OWN_K = {"ddc"}


def test_every_algorithm_has_tiny_settings_here():
    assert set(TINY) == set(ALGORITHMS)


# The data (90 samples, 3 clusters), autoencoder and initial clustering per autoencoder kind.
FIXTURES = {
    "dense": ("blobs", "tiny_ae", "tiny_init"),
    "conv": ("tiny_images", "tiny_conv_ae", "tiny_conv_init"),
}


@pytest.mark.parametrize(
    ("name", "kind"),
    [(name, kind) for name in sorted(ALGORITHMS) for kind in ALGORITHMS[name].autoencoder_kinds],
)
def test_fit_is_deterministic_and_leaves_the_callers_autoencoder_alone(name, kind, request):
    algorithm = ALGORITHMS[name]
    (X, _), ae, init = (request.getfixturevalue(fixture) for fixture in FIXTURES[kind])
    before = {k: v.clone() for k, v in ae.state_dict().items()}
    params = algorithm.params(**TINY[name])
    runs = [
        algorithm.fit(
            ae,
            X,
            init,
            params,
            generator=torch.Generator().manual_seed(1),
            progress=False,
        )
        for _ in range(2)
    ]
    assert np.array_equal(runs[0].labels, runs[1].labels)
    assert np.array_equal(runs[0].embedding, runs[1].embedding)
    assert all(torch.equal(before[k], v) for k, v in ae.state_dict().items())
    labels = runs[0].labels
    assert labels.shape == (len(X),) and labels.dtype == np.int64 and labels.min() >= 0
    assert labels.max() < 3 or name in FINDS_ITS_OWN_K
    assert runs[0].embedding.shape == (len(X), ae.embedding_dim)
