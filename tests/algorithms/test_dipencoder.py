import diptest
import numpy as np
import pytest
import torch

from deepclust import metrics
from deepclust.algorithms import dipencoder
from tests.algorithms.pretrained import kmeans_start, pretrained_tiny

TWO_GROUPS = [0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0]


def test_modal_triangle_hand_values():
    # the GCM segment from x_0 = 0 to x_4 = 10 and the point x_3 = 3 below it:
    # 2n·dip = (3 − 0 + 1) − (4 − 0)·(3 − 0)/(10 − 0) = 2.8, dip = 2.8/16
    value, triangle, side = dipencoder.modal_triangle(np.array(TWO_GROUPS))
    assert value == pytest.approx(0.175)
    assert (triangle, side) == ((0, 3, 4), 1)
    assert dipencoder.modal_triangle(np.arange(4.0))[1] is None  # dip 0: no triangle


def test_dip_gradient_hand_values():
    x = torch.tensor(TWO_GROUPS, requires_grad=True)
    d = dipencoder.dip(x)
    assert d.item() == pytest.approx(0.175)
    d.backward()
    # ∂/∂x_3 = −(i3 − i1)/(x_4 − x_0)/(2n) = −4/10/16; ∂/∂x_0 = 4·(10 − 3)/10²/16;
    # ∂/∂x_4 = 4·(3 − 0)/10²/16; the other samples do not move the dip
    expected = [0.0175, 0, 0, -0.025, 0.0075, 0, 0, 0]
    assert x.grad.tolist() == pytest.approx(expected)


def test_dip_and_its_gradient_agree_with_diptest_on_random_samples():
    rng = np.random.default_rng(1)
    for n in (7, 30, 101):
        sample = np.r_[rng.normal(0, 1, n // 2), rng.normal(3, 1, n - n // 2)]
        x = torch.tensor(sample, dtype=torch.float64, requires_grad=True)
        d = dipencoder.dip(x)
        assert d.item() == pytest.approx(diptest.dipstat(sample))
        d.backward()
        h = 1e-7  # central differences of the package's statistic
        for i in np.flatnonzero(x.grad.numpy()):
            up, down = sample.copy(), sample.copy()
            up[i] += h
            down[i] -= h
            numeric = (diptest.dipstat(up) - diptest.dipstat(down)) / (2 * h)
            assert x.grad[i].item() == pytest.approx(numeric, rel=1e-4)


def test_pair_loss_hand_value():
    z = torch.tensor(TWO_GROUPS)[:, None]
    axis = torch.tensor([1.0])
    # each group alone: 4 evenly spaced values, dip 0; together 0.175
    assert dipencoder.pair_loss(z[:4], z[4:], axis).item() == pytest.approx(-0.175)
    # the loss averages over all k(k−1)/2 pairs; pairs with a small cluster count 0
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    axes = torch.ones(3, 1)
    loss = dipencoder.clustering_loss(z, labels, axes, k=3, min_points=4)
    assert loss.item() == pytest.approx(-0.175 / 3)


def test_label_update_splits_midway_between_the_modal_intervals():
    z = torch.tensor([[0.0], [1], [2], [3], [4.5], [5.5], [10], [11], [12], [13]])
    expected = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    for labels in ([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]):
        # modal intervals (diptest) [0, 3] and [10, 13] either way: threshold 6.5, so 4.5 and
        # 5.5, outside both modes, go with the left cluster
        new = dipencoder.update_labels(z, torch.tensor(labels), torch.ones(1, 1), k=2)
        assert new.tolist() == expected
    assert dipencoder.modal_interval(np.array([5.5, 10, 11, 12, 13])) == (10.0, 13.0)


def test_fit_keeps_the_starts_clusters(blobs):
    X, y = blobs
    start_ae = pretrained_tiny(X)
    start = kmeans_start(start_ae, X, 3)
    params = dipencoder.DipEncoderParams(epochs=10, batch_per_cluster=30, lr=0.01)  # full batch
    result = dipencoder.fit(start_ae, X, start, params, generator=torch.Generator(), progress=False)
    assert metrics.acc(y, start.labels) == 1.0
    assert metrics.acc(y, result.labels) == 1.0
    assert result.history[-1]["reconstruction_weight"] > 0
    assert result.state["axes"].shape == (3, 3)
    rows = [row for row in result.history if "clustering" in row]
    assert rows[-1]["clustering"] < rows[0]["clustering"] < 0


def test_the_loss_trained_weighs_the_reconstruction_by_the_configured_lambda(
    blobs, tiny_ae, tiny_init
):
    X, _ = blobs
    params = dipencoder.DipEncoderParams(epochs=2, batch_per_cluster=10, reconstruction_weight=0.3)
    result = dipencoder.fit(
        tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False
    )
    rows = [row for row in result.history if "clustering" in row]
    assert len(rows) == 2
    for row in rows:
        assert row["loss"] == pytest.approx(0.3 * row["reconstruction"] + row["clustering"])
    assert result.history[-1]["reconstruction_weight"] == 0.3
