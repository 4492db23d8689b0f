"""What every registered algorithm's ``fit`` promises (base.py): same generator → same
result, the caller's autoencoder untouched, its own labels for every sample."""

import numpy as np
import pytest
import torch

from deepclust.algorithms import ALGORITHMS

# These find their own number of clusters, which may differ from k.
FINDS_ITS_OWN_K = {"ddc"}


def _tiny(name: str):
    """The algorithm's ``tiny`` preset: a few steps on 90 samples."""
    return ALGORITHMS[name].params_from_config({"preset": "tiny"})


def test_every_algorithm_declares_a_tiny_preset():
    assert all("tiny" in algorithm.presets for algorithm in ALGORITHMS.values())


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
    params = _tiny(name)
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
