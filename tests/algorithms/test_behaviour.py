"""What every refinement must *do*, on data where the answer is known.

The data: four Gaussian blobs in 2-D (centres on a circle of radius 3, σ = 0.5, so neighbouring
centres are 4.2 = 8.5 σ apart), 100 points each, pushed through a fixed random nonlinear map
x = sigmoid(tanh(v W1 / 2) W2) to 20 features (64 for the convolutional autoencoder, read as
8×8 images). An autoencoder pretrained on x separates the blobs: k-means on its embedding
scores ACC 1.0, which the fixture asserts, so the premise is checked, not assumed. The
embedding is then rescaled so that the true cluster means are 3 apart on average (encoder's
last layer × s, decoder's first ÷ s: the same autoencoder up to the scale of z). On that scale
the Student-t kernel of DEC, IDEC, DCEC and DynAE (α = 1) is neither flat nor hard; at the
scale pretraining happened to give (mean distance ≈ 1) DEC kept a wrong start in 1 of 5
pretraining seeds, at 3 and at 10 in none.

The wrong start ("displaced"): each true mean moved 45 % of the way towards the next cluster's
mean (cyclically), the labels the nearest of these centres. Part of each blob then lies nearer
the previous cluster's displaced centre: ACC ≈ 0.70 (0.67-0.70 over 5 pretraining seeds;
asserted between 0.6 and 0.8). A method whose centres follow the data it assigns (means,
running means, gradient steps on μ, k-means re-run) pulls them back onto the blobs; every
method here reached ACC 1.000 from it in all 5 seeds measured. We require ACC ≥ 0.95 and a
gain of ≥ 0.2 over the start. A method that keeps its start (a centre, target or labelling
never updated) stays near 0.70, and merging two clusters, the usual degenerate outcome, scores
0.75, so neither passes; a constant labelling scores 0.25.

Each test takes a second or two on one CPU thread (the two pretrainings, once per module).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust import metrics
from deepclust.algorithms import ALGORITHMS, aec
from deepclust.algorithms.base import InitialClustering, nearest_center
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import embed
from deepclust.models.pretrain import pretrain
from deepclust.seeding import seed_everything

K = 4
PER_CLUSTER = 100
MEAN_DISTANCE = 3.0  # mean distance between the true cluster means in the rescaled embedding
DISPLACEMENT = 0.45  # fraction of the way each start centre is moved towards the next cluster
MIN_ACC = 0.95
MIN_GAIN = 0.2

# Short runs that reach ACC 1.0 from the displaced start (batch 64 of 400 samples).
SETTINGS = {
    "dec": {"update_interval": 20, "max_iter": 400, "batch_size": 64},
    "idec": {"update_interval": 20, "max_iter": 400, "batch_size": 64},
    "dcec": {"update_interval": 20, "max_iter": 400, "batch_size": 64},
    "dcn": {"preset": "fast", "epochs": 10, "batch_size": 64},
    "aec": {"preset": "fast", "epochs": 10, "batch_size": 64, "init": "kmeans"},
    "dkm": {"preset": "fast", "n_alphas": 4, "batch_size": 64},
    "dekm": {"update_interval": 20, "max_iter": 400, "batch_size": 64},
    "dynae": {"update_interval": 20, "max_iter": 400, "batch_size": 64, "augment": False},
    # 50 steps: from 100 on, ACe/DeC's network alone carries the blobs onto frozen centres
    # (ACC 1.0 measured with the mini-batch k-means step removed; 0.84 at 50)
    "acedec": {"max_iter": 50, "batch_size": 64},
}
DENSE = {"hidden": [32], "embedding_dim": 3}
CONV = {"kind": "conv", "channels": [4, 8], "embedding_dim": 3}


def blobs_through_a_nonlinear_map(d: int, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    angles = np.arange(K) * 2 * np.pi / K
    centres = 3 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = np.repeat(np.arange(K), PER_CLUSTER)
    v = centres[y] + 0.5 * rng.standard_normal((len(y), 2))
    W1 = rng.standard_normal((2, 16))
    W2 = rng.standard_normal((16, d)) / 2
    x = 1 / (1 + np.exp(-np.tanh(v @ W1 / 2) @ W2))
    return torch.tensor(x, dtype=torch.float32), y


def pretrained(X, y, ae_cfg: dict, image_shape=None):
    """The autoencoder pretrained on X, its embedding rescaled to MEAN_DISTANCE; asserts that
    k-means on that embedding finds the blobs."""
    cfg = {**ae_cfg, "epochs": 50, "batch_size": 64, "optimizer": "adam", "lr": 0.003}
    ae, _ = pretrain(cfg, X, generator=seed_everything(0), image_shape=image_shape, progress=False)
    z = embed(ae, X)
    means = torch.stack([z[torch.as_tensor(y) == j].mean(dim=0) for j in range(K)])
    scale = MEAN_DISTANCE / torch.pdist(means).mean()
    with torch.no_grad():
        ae.encoder[-1].weight.mul_(scale)
        ae.encoder[-1].bias.mul_(scale)
        ae.decoder[0].weight.div_(scale)
    z = embed(ae, X)
    kmeans = kmeans_init(z.numpy(), K, n_init=10, max_iter=300, seed=0)
    assert metrics.acc(y, kmeans.labels) == 1.0  # the premise: the embedding separates them
    return ae, means * scale


def displaced_start(ae, X, y, means) -> InitialClustering:
    centers = means + DISPLACEMENT * (means.roll(-1, dims=0) - means)
    labels = nearest_center(embed(ae, X), centers)
    init = InitialClustering(labels.numpy().astype(np.int64), centers.numpy().astype(np.float32))
    assert 0.6 < metrics.acc(y, init.labels) < 0.8  # wrong in the known way
    return init


@pytest.fixture(scope="module")
def dense_world():
    X, y = blobs_through_a_nonlinear_map(20)
    ae, means = pretrained(X, y, DENSE)
    return X, y, ae, displaced_start(ae, X, y, means)


@pytest.fixture(scope="module")
def image_world():
    X, y = blobs_through_a_nonlinear_map(64)
    ae, means = pretrained(X, y, CONV, image_shape=(1, 8, 8))
    return X, y, ae, displaced_start(ae, X, y, means)


def refine(name: str, world, **overrides) -> float:
    X, y, ae, init = world
    algorithm = ALGORITHMS[name]
    params = algorithm.params_from_config({**SETTINGS[name], **overrides})
    result = algorithm.fit(
        ae, X, init, params, generator=torch.Generator().manual_seed(0), progress=False
    )
    return metrics.acc(y, result.labels)


@pytest.mark.parametrize("name", [name for name in SETTINGS if name != "dcec"])
def test_refinement_repairs_a_displaced_start(name, dense_world):
    start = metrics.acc(dense_world[1], dense_world[3].labels)
    acc = refine(name, dense_world)
    assert acc >= MIN_ACC and acc >= start + MIN_GAIN, f"{name}: ACC {start:.3f} → {acc:.3f}"


def test_acedec_on_aec_repairs_a_displaced_start(dense_world):
    # 30 steps (4 epochs of AEC's updates): 1.0 measured; with the labels never reassigned 0.70,
    # with the centres never moved to the means 0.83
    start = metrics.acc(dense_world[1], dense_world[3].labels)
    acc = refine("acedec", dense_world, base="aec", max_iter=30)
    assert acc >= MIN_ACC and acc >= start + MIN_GAIN, f"acedec on aec: ACC {start:.3f} → {acc:.3f}"


def test_dcec_repairs_a_displaced_start_on_images(image_world):
    start = metrics.acc(image_world[1], image_world[3].labels)
    acc = refine("dcec", image_world)
    assert acc >= MIN_ACC and acc >= start + MIN_GAIN, f"dcec: ACC {start:.3f} → {acc:.3f}"


def test_aec_escapes_random_initial_labels(dense_world):
    """AEC's paper start: uniformly random labels (ACC ≈ 0.27 here: chance for 4 equal
    clusters is 0.25 plus the matching's pick of the best permutation). Their means all lie
    near the global mean, and each epoch's means-then-nearest update must pull them apart.
    Measured over 5 pretraining seeds: 1.000 four times, 0.750 once (two blobs kept
    together); we require ≥ 0.74 and a gain of ≥ 0.4, which labels that stay random or
    collapse into one cluster (0.25) cannot meet."""
    X, y, ae, init = dense_world
    params = ALGORITHMS["aec"].params_from_config({**SETTINGS["aec"], "init": "random"})
    generator = torch.Generator().manual_seed(0)
    result = ALGORITHMS["aec"].fit(ae, X, init, params, generator=generator, progress=False)
    # the labels it starts from: the first draw of the same generator
    random_labels = aec.initial_labels(init, K, len(X), "random", torch.Generator().manual_seed(0))
    start = metrics.acc(y, random_labels.numpy())
    acc = metrics.acc(y, result.labels)
    assert start < 0.35
    assert acc >= 0.74 and acc >= start + 0.4, f"aec from random labels: ACC {acc:.3f}"


def test_damic_repairs_noisy_initial_labels(dense_world):
    """DAMIC sees its start only through the labels. With 25 % of them moved to a random other
    cluster (ACC 0.767), each expert is pretrained mostly on its own blob, so a mislabelled
    point is reconstructed best by its blob's expert, and the joint phase (Eq. 3-5) moves it
    there. Measured over 5 label-noise seeds: 0.875-1.000 (1.000 for this one); we require
    ≥ 0.85 and a gain of ≥ 0.08. A network that keeps the labels it was pretrained on scores
    the start."""
    X, y, _, _ = dense_world
    rng = np.random.default_rng(0)
    labels = y.copy()
    moved = rng.random(len(y)) < 0.25
    labels[moved] = (y[moved] + rng.integers(1, K, moved.sum())) % K
    init = InitialClustering(labels.astype(np.int64), np.zeros((K, 3), np.float32))
    start = metrics.acc(y, labels)
    assert 0.7 < start < 0.8
    params = ALGORITHMS["damic"].params_from_config(
        {"hidden": [16], "classifier_hidden": [32], "pretrain_epochs": 5, "epochs": 30,
         "lr": 0.003, "batch_size": 64}
    )  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    result = ALGORITHMS["damic"].fit(None, X, init, params, generator=generator, progress=False)
    acc = metrics.acc(y, result.labels)
    assert acc >= 0.85 and acc >= start + 0.08, f"damic: ACC {start:.3f} → {acc:.3f}"


def test_aekm_returns_its_start_unchanged(dense_world):
    """AE + k-means has no refinement: its labels and centres are the start's, whatever they
    are (here the displaced start, which no k-means run would give)."""
    X, _, ae, init = dense_world
    params = ALGORITHMS["aekm"].params()
    result = ALGORITHMS["aekm"].fit(ae, X, init, params, generator=torch.Generator())
    assert np.array_equal(result.labels, init.labels)
    assert np.array_equal(result.centers, init.centers)
    assert np.allclose(result.embedding, embed(ae, X).numpy())
