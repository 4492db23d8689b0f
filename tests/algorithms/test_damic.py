import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepclust import metrics
from deepclust.algorithms import damic
from deepclust.algorithms.base import InitialClustering
from deepclust.models.damic import ClusteringNetwork, Experts

TINY = {"hidden": (16, 8), "classifier_hidden": (16,), "batch_size": 32}


def tiny_fit(X, init, generator_seed=1, **overrides):
    params = damic.DAMICParams(**{**TINY, **overrides})
    return damic.fit(
        None, X, init, params, generator=torch.Generator().manual_seed(generator_seed),
        progress=False,
    )  # fmt: skip


def networks(result, X, k):
    """The fitted clustering network and experts, rebuilt from ``result.state``, eval mode."""
    classifier = ClusteringNetwork(X.shape[1], TINY["classifier_hidden"], k, True)
    classifier.load_state_dict(result.state["classifier"])
    dims = [X.shape[1], *TINY["hidden"], k]
    experts = Experts(k, dims, True, result.state["output"] == "sigmoid")
    experts.load_state_dict(result.state["experts"])
    return classifier.eval(), experts.eval()


def test_mixture_loss_hand_value():
    p = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    dist = torch.tensor([[1.0, 3.0], [0.5, 0.0]])
    by_hand = (
        -(math.log(0.5 * math.exp(-1) + 0.5 * math.exp(-3)) + math.log(0.9 * math.exp(-0.5) + 0.1))
        / 2
    )
    assert damic.mixture_loss(p.log(), dist).item() == pytest.approx(by_hand, rel=1e-6)


def test_distance_is_half_the_squared_error_summed_over_features():
    x = torch.tensor([[1.0, 0.0, 2.0]])
    recon = torch.tensor([[[1.0, 0.0, 2.0], [0.0, 2.0, 2.0]]])  # expert 0 exact, expert 1 off
    assert damic.reconstruction_distances(x, recon).tolist() == [[0.0, 2.5]]


def test_gradient_wrt_the_logits_is_p_minus_the_soft_labels_of_eq_5():
    logits = torch.tensor([[0.3, -1.0, 2.0], [1.0, 0.0, 0.5]], requires_grad=True)
    dist = torch.tensor([[2.0, 0.1, 4.0], [0.3, 0.2, 1.0]])
    damic.mixture_loss(F.log_softmax(logits, dim=1), dist).backward()
    p = logits.detach().softmax(dim=1)
    w = p * torch.exp(-dist) / (p * torch.exp(-dist)).sum(dim=1, keepdim=True)  # Eq. 5
    assert torch.allclose(logits.grad, (p - w) / len(p), atol=1e-6)


def test_loss_prefers_the_expert_that_reconstructs_best():
    dist = torch.tensor([[0.2, 3.0, 1.5]])  # expert 0 reconstructs this sample best
    gate = torch.eye(3).log()  # row i: all weight on expert i
    losses = [damic.mixture_loss(gate[i : i + 1], dist) for i in range(3)]
    assert losses[0] < losses[2] < losses[1]
    logits = torch.zeros(1, 3, requires_grad=True)  # from a uniform gate, descent moves p to 0
    damic.mixture_loss(F.log_softmax(logits, dim=1), dist).backward()
    assert logits.grad.argmin().item() == 0 and logits.grad[0, 0] < 0


def test_expert_pretraining_counts_each_point_for_its_own_cluster_only():
    x = torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]])
    labels = torch.tensor([0, 1, 1])
    recon = torch.rand(3, 2, 2, generator=torch.Generator().manual_seed(0)) * 0.8 + 0.1
    loss = damic.expert_pretrain_loss(x, recon, labels, sigmoid=False)
    mse = ((recon - x[:, None, :]) ** 2).mean(dim=2)
    assert loss.item() == pytest.approx((mse[0, 0] + (mse[1, 1] + mse[2, 1]) / 2).item())
    changed = recon.clone()
    changed[0, 1] = 0.0  # expert 1 on a point of cluster 0: no effect
    assert damic.expert_pretrain_loss(x, changed, labels, sigmoid=False) == loss
    bce = F.binary_cross_entropy(recon, x[:, None, :].expand_as(recon), reduction="none")
    bce = bce.mean(dim=2)
    expected = bce[0, 0] + (bce[1, 1] + bce[2, 1]) / 2
    loss = damic.expert_pretrain_loss(x, recon, labels, sigmoid=True)
    assert loss.item() == pytest.approx(expected.item())


def test_pretraining_learns_the_kmeans_labels(blobs, tiny_init):
    """Pretraining alone (no joint epoch): the clustering network reproduces the k-means
    labels, and expert i reconstructs the points of cluster i best."""
    X, _ = blobs
    result = tiny_fit(X, tiny_init, pretrain_epochs=10, epochs=0, patience=0, lr=0.01)
    assert np.array_equal(result.labels, tiny_init.labels)
    _, experts = networks(result, X, 3)
    with torch.no_grad():
        closest = damic.reconstruction_distances(X, experts(X)).argmin(dim=1)
    assert np.array_equal(closest.numpy(), tiny_init.labels)
    assert {r.get("epoch") for r in result.history} == set(range(1, 21))
    assert "loss" not in result.history[-1]


def test_the_clustering_network_learns_labels_that_are_not_the_nearest_center(blobs):
    """The supervision is the given labels, whatever they are: swap two clusters' labels."""
    X, y = blobs
    labels = np.array([1, 0, 2])[y]
    init = InitialClustering(labels=labels, centers=np.zeros((3, 2), np.float32))
    result = tiny_fit(X, init, pretrain_epochs=10, epochs=0, patience=0, lr=0.01)
    assert np.array_equal(result.labels, labels)


def test_labels_are_the_argmax_and_the_embedding_is_h():
    """On structureless data with random initial labels, the clustering network's argmax
    differs from those labels and from the best-reconstruction rule (Eq. 6): the result must
    report the argmax (Eq. 2)."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(90, 8, generator=g)
    init = InitialClustering(torch.randint(3, (90,), generator=g).numpy(), np.zeros((3, 2)))
    result = tiny_fit(X, init, pretrain_epochs=1, epochs=3)
    classifier, experts = networks(result, X, 3)
    with torch.no_grad():
        argmax = classifier(X).argmax(dim=1).numpy()
        closest = damic.reconstruction_distances(X, experts(X)).argmin(dim=1).numpy()
        assert np.allclose(classifier.body(X).numpy(), result.embedding, atol=1e-6)
    assert np.array_equal(result.labels, argmax)
    assert not np.array_equal(argmax, init.labels) and not np.array_equal(argmax, closest)
    assert result.embedding.shape == (len(X), TINY["classifier_hidden"][-1])
    joint = [r for r in result.history if "loss" in r]
    assert [r["epoch"] for r in joint] == [3, 4, 5]


def test_same_generator_same_result_and_the_global_rng_is_untouched(blobs, tiny_init):
    X, _ = blobs
    rng_before = torch.get_rng_state()
    a, b = (tiny_fit(X, tiny_init, pretrain_epochs=2, epochs=2) for _ in range(2))
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.embedding, b.embedding)
    for net in ("classifier", "experts"):
        assert all(torch.equal(v, b.state[net][k]) for k, v in a.state[net].items())
    c = tiny_fit(X, tiny_init, generator_seed=2, pretrain_epochs=2, epochs=2)
    assert not np.array_equal(a.embedding, c.embedding)


def test_output_follows_the_data_range(blobs, tiny_init):
    X, _ = blobs
    assert tiny_fit(X, tiny_init, pretrain_epochs=1, epochs=1).state["output"] == "sigmoid"
    wide = tiny_fit(3 * X - 1, tiny_init, pretrain_epochs=1, epochs=1)
    assert wide.state["output"] == "linear"
    with pytest.raises(ValueError, match="unknown output"):
        tiny_fit(X, tiny_init, output="tanh")


def test_early_stopping_ends_a_phase_whose_loss_stops_falling(blobs, tiny_init):
    X, _ = blobs
    # min_delta 0.99: no epoch improves by 99 %, so each phase stops after 1 + patience epochs
    result = tiny_fit(X, tiny_init, pretrain_epochs=20, epochs=20, patience=2, min_delta=0.99)
    epochs = [r["epoch"] for r in result.history if "delta_label" not in r]
    assert epochs == list(range(1, 10))


@pytest.fixture(scope="module")
def synthetic_run() -> dict:
    """k-means on x, AE+k-means and DAMIC (fast preset) on 1,000 of damic_synthetic's points:
    the paper's 100-50-10-2 autoencoder, k-means on its embedding, DAMIC from those labels."""
    from sklearn.cluster import KMeans

    from deepclust.data.registry import get
    from deepclust.initial import kmeans_init
    from deepclust.models.autoencoder import embed
    from deepclust.models.pretrain import pretrain
    from deepclust.seeding import seed_everything

    X, y = get("damic_synthetic").load(None)
    X, y = torch.from_numpy(X[:1000]), y[:1000]
    generator = seed_everything(0)
    ae_cfg = {"hidden": [50, 10], "embedding_dim": 2, "epochs": 200, "batch_size": 256}
    ae, _ = pretrain({**ae_cfg, "optimizer": "adam", "lr": 0.001}, X, generator=generator,
                     progress=False)  # fmt: skip
    init = kmeans_init(embed(ae, X).numpy(), 4, n_init=10, max_iter=300, seed=0)
    params = damic.ALGORITHM.params_from_config({"preset": "fast"})
    result = damic.fit(ae, X, init, params, generator=generator, progress=False)
    km = KMeans(4, n_init=10, random_state=0).fit_predict(X.numpy())
    return {
        "km": metrics.score(y, km),
        "aekm": metrics.score(y, init.labels),
        "damic": metrics.score(y, result.labels),
        "damic_vs_aekm": metrics.acc(init.labels, result.labels),  # matched agreement
    }


def test_synthetic_data_are_as_hard_for_k_means_as_the_papers(synthetic_run):
    """Table 2's KM column: NMI 0.80, ARI 0.81. The latent clusters are well apart; Eq. 8's
    sigmoid is what makes k-means on x miss part of them."""
    assert 0.72 < synthetic_run["km"]["nmi"] < 0.86
    assert 0.70 < synthetic_run["km"]["ari"] < 0.87


def test_damic_keeps_the_partition_ae_kmeans_found_on_the_synthetic_data(synthetic_run):
    """What docs/results.md reports: DAMIC keeps its initial partition here (measured: 99.3 %
    of the labels agree with AE+k-means', NMI 0.785 against 0.781). When DAMIC starts to move
    points (the paper's gain, the xfail below), this test says so too."""
    assert synthetic_run["damic_vs_aekm"] >= 0.97
    assert synthetic_run["damic"]["nmi"] == pytest.approx(synthetic_run["aekm"]["nmi"], abs=0.02)


@pytest.mark.xfail(
    strict=True,
    reason="paper 004 Table 2: DAMIC NMI 0.94 against DAE+KM 0.83; we measure NMI 0.790 "
    "against 0.788 with the paper preset over 5 seeds (scripts/damic_synthetic.py)",
)
def test_damic_is_clearly_above_ae_kmeans_on_the_synthetic_data(synthetic_run):
    assert synthetic_run["damic"]["nmi"] >= synthetic_run["aekm"]["nmi"] + 0.05


def test_the_joint_phase_trains_the_experts_and_the_clustering_network(blobs, tiny_init):
    """The same pretraining (same generator), then no joint epoch or two: Eq. 3 must move the
    parameters of both the experts and the clustering network (not only batch-norm
    statistics, which any forward pass in training mode updates)."""
    X, _ = blobs
    before, after = (
        tiny_fit(X, tiny_init, pretrain_epochs=2, epochs=epochs, patience=0) for epochs in (0, 2)
    )
    for net in ("classifier", "experts"):
        trained = [k for k in before.state[net] if k.endswith(("weight", "bias"))]
        assert trained
        assert all(not torch.equal(before.state[net][k], after.state[net][k]) for k in trained)
