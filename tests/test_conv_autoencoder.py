import math

import pytest
import torch
import torch.nn.functional as F

from deepclust.models.autoencoder import ConvAutoencoder, build, embed, from_config
from deepclust.models.pretrain import pretrain

SHAPES = [(1, 8, 8), (1, 16, 16), (1, 28, 28), (3, 32, 32), (1, 128, 128), (2, 9, 13)]
CONFIG = {"kind": "conv", "channels": [2, 4, 4], "embedding_dim": 5}


@pytest.mark.parametrize("shape", SHAPES)
def test_reconstruction_has_the_input_shape_and_the_embedding_its_size(shape):
    ae = ConvAutoencoder(shape, channels=[2, 4, 4], embedding_dim=5)
    x = torch.rand(3, math.prod(shape))
    assert ae(x).shape == x.shape
    assert ae.encode(x).shape == (3, 5) and embed(ae, x).shape == (3, 5)


def test_dcec_feature_maps_on_mnist_and_its_valid_padding():
    """DCEC's CAE on 28×28: 28 → 14 → 7 → 3 ('valid' last convolution since 28 % 8 ≠ 0),
    so the dense layers connect 128·3·3 = 1152 values; 32×32 stays 'same': 128·4·4 = 2048."""
    mnist = ConvAutoencoder((1, 28, 28))
    assert mnist.encoder[-1].in_features == mnist.decoder[0].out_features == 1152
    assert mnist.encoder[5].padding == (0, 0) and mnist.encoder[5].kernel_size == (3, 3)
    coil = ConvAutoencoder((1, 32, 32))
    assert coil.encoder[-1].in_features == 2048 and coil.encoder[5].padding == (1, 1)


def test_every_parameter_is_in_the_encoder_or_the_decoder():
    ae = ConvAutoencoder((1, 16, 16), channels=[2, 4, 4], embedding_dim=5)
    parts = {id(p) for p in [*ae.encoder.parameters(), *ae.decoder.parameters()]}
    assert parts == {id(p) for p in ae.parameters()} and len(list(ae.parameters())) == 16


def test_arch_round_trip_rebuilds_the_same_network():
    torch.manual_seed(0)
    ae = from_config(CONFIG, 3 * 32 * 32, (3, 32, 32))
    assert ae.arch == {
        "kind": "conv",
        "image_shape": (3, 32, 32),
        "channels": [2, 4, 4],
        "embedding_dim": 5,
    }
    rebuilt = build(ae.arch)
    rebuilt.load_state_dict(ae.state_dict())
    x = torch.rand(4, 3 * 32 * 32)
    assert torch.equal(rebuilt(x), ae(x))


def test_from_config_needs_images_of_the_rows_size_and_end_to_end_pretraining():
    with pytest.raises(ValueError, match="kind 'conv' needs image data"):
        from_config(CONFIG, 64, None)
    with pytest.raises(ValueError, match="does not have 65 values"):
        from_config(CONFIG, 65, (1, 8, 8))
    with pytest.raises(ValueError, match="only pretraining: end_to_end"):
        from_config({**CONFIG, "pretraining": "layerwise"}, 64, (1, 8, 8))
    with pytest.raises(ValueError, match="too small"):
        ConvAutoencoder((1, 4, 4))


def test_a_few_adam_steps_lower_the_reconstruction_loss():
    torch.manual_seed(0)
    ae = ConvAutoencoder((1, 8, 8), channels=[4, 8, 8], embedding_dim=3)
    x = torch.rand(16, 64)
    optimizer = torch.optim.Adam(ae.parameters(), lr=0.01)
    losses = []
    for _ in range(20):
        loss = F.mse_loss(ae(x), x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_pretraining_builds_and_trains_a_conv_autoencoder_from_its_config():
    torch.manual_seed(0)
    X = torch.rand(32, 64)
    cfg = {**CONFIG, "epochs": 2, "batch_size": 16, "optimizer": "adam", "lr": 0.01}
    ae, history = pretrain(
        cfg, X, generator=torch.Generator(), image_shape=(1, 8, 8), progress=False
    )
    assert isinstance(ae, ConvAutoencoder) and ae.image_shape == (1, 8, 8)
    assert [row["step"] for row in history] == [2, 4]  # one row per epoch of 32 / 16 steps
    assert history[-1]["loss"] < history[0]["loss"]
