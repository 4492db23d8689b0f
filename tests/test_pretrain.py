"""Autoencoder pretraining: end-to-end unchanged, layer-wise denoising (DEC, survey Table 5)."""

import pytest
import torch
import torch.nn.functional as F

from deepclust.augment import augmenter
from deepclust.models import pretrain as pt
from deepclust.models.autoencoder import FeedforwardAutoencoder, from_config
from deepclust.training import autocast_bf16

CFG = {"hidden": [16], "embedding_dim": 3, "epochs": 3, "batch_size": 32, "optimizer": "adam"}
CFG["lr"] = 0.001


def _run(cfg, X, seed=0, image_shape=None):
    torch.manual_seed(seed)  # the network's initial weights
    generator = torch.Generator().manual_seed(seed)
    return pt.pretrain(cfg, X, generator=generator, image_shape=image_shape, progress=False)


def test_end_to_end_is_the_default_and_unchanged(blobs):
    X, _ = blobs
    a, hist_a = _run(CFG, X)
    b, hist_b = _run({**CFG, "pretraining": "end_to_end", "dropout": 0.5}, X)
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert hist_a == hist_b and "phase" not in hist_a[0]


def test_layer_pairs_mirror_the_stacked_activations():
    ae = FeedforwardAutoencoder([8, 6, 4, 2])
    pairs = pt.layer_pairs(ae)
    assert [
        (e.in_features, e.out_features, d.in_features, d.out_features) for e, d, *_ in pairs
    ] == [
        (8, 6, 6, 8),
        (6, 4, 4, 6),
        (4, 2, 2, 4),
    ]
    # no ReLU on the embedding (last encoder layer) nor on the reconstruction (first decoder)
    assert [(er, dr) for *_, er, dr in pairs] == [(True, False), (True, True), (False, True)]


def test_corrupt_drops_about_p_and_rescales():
    x = torch.ones(1000, 10)
    y = pt.corrupt(x, 0.2, torch.Generator().manual_seed(0))
    assert set(y.unique().tolist()) == {0.0, 1.25}
    assert abs((y == 0).float().mean().item() - 0.2) < 0.02
    assert torch.equal(pt.corrupt(x, 0.0, torch.Generator()), x)


def test_layerwise_lowers_reconstruction_and_is_deterministic(blobs):
    X, _ = blobs
    torch.manual_seed(0)
    ae = FeedforwardAutoencoder([8, 16, 3])
    with torch.no_grad():
        before = F.mse_loss(ae(X), X).item()
    history = pt.pretrain_layerwise(
        ae, X, epochs=30, batch_size=32, lr=0.1, lr_step=20000, dropout=0.2, momentum=0.9,
        generator=torch.Generator().manual_seed(0), progress=False,
    )  # fmt: skip
    with torch.no_grad():
        assert F.mse_loss(ae(X), X).item() < before
    for phase in ("layer1", "layer2"):
        losses = [r["loss"] for r in history if r["phase"] == phase]
        assert losses[-1] < losses[0], phase
    steps = [r["step"] for r in history]
    assert steps == sorted(steps)

    cfg = {**CFG, "pretraining": "layerwise", "layerwise_epochs": 2}
    a, hist_a = _run(cfg, X)
    b, hist_b = _run(cfg, X)
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert hist_a == hist_b
    assert [r["phase"] for r in hist_a] == ["layer1"] * 2 + ["layer2"] * 2 + ["end_to_end"] * 3
    c, _ = _run(CFG, X)  # end-to-end alone ends elsewhere
    assert not torch.equal(a.state_dict()["encoder.0.weight"], c.state_dict()["encoder.0.weight"])


def test_layerwise_learning_rate_is_divided_by_ten_every_lr_step(blobs, monkeypatch):
    X, _ = blobs
    seen = []
    original = pt.train

    def spy(objective, X, optimizer, **kwargs):
        history = original(objective, X, optimizer, **kwargs)
        seen.append(optimizer.param_groups[0]["lr"])
        return history

    monkeypatch.setattr(pt, "train", spy)
    pt.pretrain_layerwise(
        FeedforwardAutoencoder([8, 4]), X, epochs=2, batch_size=30, lr=0.1, lr_step=4,
        dropout=0.2, momentum=0.9, generator=torch.Generator(), progress=False,
    )  # fmt: skip
    assert seen == [pytest.approx(0.01)]  # 2 epochs × 3 batches = 6 steps: one division


def test_augmented_reconstruction_loss_is_eq_20():
    torch.manual_seed(0)
    ae = FeedforwardAutoencoder([16, 8, 3], image_shape=(1, 4, 4))
    x = torch.rand(5, 16)
    with torch.no_grad():
        flipped = pt.reconstruction_loss(ae, x, lambda x: x.flip(1))  # a 180° turn
        expected = 0.5 * (F.mse_loss(ae(x), x) + F.mse_loss(ae(x.flip(1)), x.flip(1)))
        assert flipped.item() == pytest.approx(expected.item())
        # zero ranges: x^A = x and Eq. 20 is the plain MSE
        none = augmenter((1, 4, 4), torch.Generator(), max_shift=0, max_rotation=0, key="k")
        plain = pt.reconstruction_loss(ae, x).item()
        assert pt.reconstruction_loss(ae, x, none).item() == pytest.approx(plain, rel=1e-5)


def test_augmented_pretraining_is_deterministic_and_augments_end_to_end_only():
    X = torch.rand(60, 16, generator=torch.Generator().manual_seed(0))
    cfg = {**CFG, "pretraining": "layerwise", "layerwise_epochs": 2}
    aug = {**cfg, "augment": True, "max_shift": 1.0, "max_rotation": 10.0}
    a, hist_a = _run(aug, X, image_shape=(1, 4, 4))
    b, hist_b = _run(aug, X, image_shape=(1, 4, 4))
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert hist_a == hist_b
    _, plain = _run(cfg, X, image_shape=(1, 4, 4))

    def losses(history, phase):
        return [r["loss"] for r in history if r["phase"] == phase]

    assert losses(hist_a, "layer1") == losses(plain, "layer1")
    assert losses(hist_a, "end_to_end") != losses(plain, "end_to_end")


def test_augmented_pretraining_needs_images():
    X = torch.rand(60, 16)
    with pytest.raises(ValueError, match=r"augment needs image data.*no image shape"):
        _run({**CFG, "augment": True}, X)


def test_bf16_precision_runs_the_products_in_bf16_and_keeps_fp32_weights(blobs, monkeypatch):
    X, _ = blobs
    seen = []
    loss = pt.reconstruction_loss

    def spy(ae, x, augment=None):
        seen.append(ae.encode(x).dtype)  # a Linear under autocast
        return loss(ae, x, augment)

    monkeypatch.setattr(pt, "reconstruction_loss", spy)
    cfg = {**CFG, "epochs": 20, "lr": 0.01, "precision": "bf16"}
    a, hist_a = _run(cfg, X)
    b, hist_b = _run(cfg, X)
    assert set(seen) == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in a.parameters())
    assert hist_a == hist_b  # seeded: the same run twice
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())
    assert hist_a[-1]["loss"] < 0.5 * hist_a[0]["loss"]
    _, hist_fp32 = _run({**cfg, "precision": "fp32"}, X)
    assert hist_fp32 != hist_a  # bf16 is other arithmetic, not a no-op
    assert hist_a[-1]["loss"] == pytest.approx(hist_fp32[-1]["loss"], rel=0.2)


def test_bf16_on_a_cpu_that_emulates_it_warns(monkeypatch, caplog):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    cpu = torch.device("cpu")
    with caplog.at_level("WARNING", logger="deepclust"):
        autocast_bf16(cpu, "fp32")
    assert not caplog.records
    with caplog.at_level("WARNING", logger="deepclust"):
        autocast_bf16(cpu, "bf16")
    assert "without native bf16" in caplog.text
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    caplog.clear()
    with caplog.at_level("WARNING", logger="deepclust"):
        autocast_bf16(cpu, "bf16")
    assert not caplog.records


def test_unknown_precision_is_a_clear_error(blobs):
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        _run({**CFG, "precision": "fp8"}, blobs[0])


def test_fan_in_uniform_init_is_keras_variance_scaling_one_third():
    # Keras VarianceScaling(scale=1/3, mode='fan_in', distribution='uniform') draws in ±limit,
    # limit = sqrt(3 · scale / fan_in) = sqrt(1 / fan_in): 1/sqrt(784) ≈ 0.0357 for MNIST's
    # first layer, 1/sqrt(10) ≈ 0.316 for the decoder's first. Biases are zero.
    torch.manual_seed(0)
    ae = from_config({"hidden": [500], "embedding_dim": 10, "init": "fan_in_uniform"}, 784, None)
    for layer in (m for m in ae.modules() if isinstance(m, torch.nn.Linear)):
        limit = layer.in_features**-0.5
        w = layer.weight
        assert w.abs().max() <= limit and w.abs().max() > 0.95 * limit  # fills the range
        assert abs(w.std().item() - limit / 3**0.5) < 0.05 * limit  # uniform: std = limit/√3
        assert torch.equal(layer.bias, torch.zeros_like(layer.bias))


def test_glorot_uniform_init_and_the_default_init():
    torch.manual_seed(0)
    ae = from_config({"hidden": [500], "embedding_dim": 10, "init": "glorot_uniform"}, 784, None)
    first = ae.encoder[0]
    limit = (6 / (784 + 500)) ** 0.5  # Glorot: sqrt(6 / (fan_in + fan_out))
    assert first.weight.abs().max() <= limit and first.weight.abs().max() > 0.95 * limit
    assert torch.equal(first.bias, torch.zeros(500))
    # init: null keeps PyTorch's default, bit for bit (uniform ±1/sqrt(fan_in), biases too)
    torch.manual_seed(0)
    default = from_config({"hidden": [500], "embedding_dim": 10, "init": None}, 784, None)
    torch.manual_seed(0)
    plain = FeedforwardAutoencoder([784, 500, 10])
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in default.state_dict().items())
    assert default.encoder[0].bias.abs().max() > 0


def test_a_budget_in_steps_replaces_epochs(blobs):
    X, _ = blobs  # 90 samples, batch 32: 3 steps per epoch
    _, by_epochs = _run({**CFG, "epochs": 2}, X)
    _, by_steps = _run({**CFG, "epochs": 2, "steps": 7}, X)
    assert by_epochs[-1]["step"] == 6
    assert by_steps[-1]["step"] == 7 and by_steps[-1]["epoch"] == 3


def test_pretraining_momentum_comes_from_the_config(blobs):
    X, _ = blobs
    sgd = {**CFG, "optimizer": "sgd", "lr": 0.1}
    # The first SGD step is the plain gradient step whatever the momentum (PyTorch starts the
    # buffer at the gradient); from the second step on, momentum adds the previous update.
    one_a, _ = _run({**sgd, "steps": 1, "momentum": 0.0}, X)
    one_b, _ = _run({**sgd, "steps": 1, "momentum": 0.9}, X)
    two_a, _ = _run({**sgd, "steps": 2, "momentum": 0.0}, X)
    two_b, _ = _run({**sgd, "steps": 2, "momentum": 0.9}, X)
    assert torch.equal(one_a.encoder[0].weight, one_b.encoder[0].weight)
    assert not torch.equal(two_a.encoder[0].weight, two_b.encoder[0].weight)


def test_end_to_end_trains_every_layer_and_reconstructs(blobs):
    """Every parameter moves, one history row per epoch, and the MSE of the three blobs
    falls below a quarter of the untrained network's (measured: 0.035 → 0.0016)."""
    X, _ = blobs
    torch.manual_seed(0)
    untrained = FeedforwardAutoencoder([8, 16, 3]).state_dict()
    cfg = {**CFG, "epochs": 30, "lr": 0.01}
    ae, history = _run(cfg, X)
    assert [row["epoch"] for row in history] == list(range(1, 31))
    assert all(not torch.equal(v, untrained[k]) for k, v in ae.state_dict().items())
    assert history[-1]["loss"] < history[0]["loss"] / 4


def test_layerwise_trains_each_pair_on_the_codes_below_it(blobs, monkeypatch):
    """Pair 2 trains on ReLU(encoder layer 1 (x)) of the trained layer 1; every layer of both
    pairs moves; and the dropout rate matters (0.2 and 0 end elsewhere)."""
    X, _ = blobs
    inputs = []
    original = pt.train

    def spy(objective, X, optimizer, **kwargs):
        inputs.append(X.clone())
        return original(objective, X, optimizer, **kwargs)

    monkeypatch.setattr(pt, "train", spy)

    def layerwise(dropout: float) -> FeedforwardAutoencoder:
        torch.manual_seed(0)
        ae = FeedforwardAutoencoder([8, 6, 3])
        pt.pretrain_layerwise(
            ae, X, epochs=5, batch_size=32, lr=0.1, lr_step=20000, dropout=dropout, momentum=0.9,
            generator=torch.Generator().manual_seed(0), progress=False,
        )  # fmt: skip
        return ae

    torch.manual_seed(0)
    untrained = FeedforwardAutoencoder([8, 6, 3]).state_dict()
    ae = layerwise(0.2)
    assert len(inputs) == 2 and torch.equal(inputs[0], X)
    with torch.no_grad():
        assert torch.allclose(inputs[1], F.relu(ae.encoder[0](X)))
    assert all(not torch.equal(v, untrained[k]) for k, v in ae.state_dict().items())
    plain = layerwise(0.0)
    assert not torch.equal(plain.encoder[0].weight, ae.encoder[0].weight)
