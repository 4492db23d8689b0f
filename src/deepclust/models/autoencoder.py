"""The autoencoders: the feed-forward d-500-500-2000-10 of DEC/IDEC/DCN (and any other widths,
``kind: dense``) and the convolutional autoencoder of DCEC and DEKM for images (``kind: conv``).

Hidden layers use ReLU; the embedding and the reconstruction are linear, as in DEC's
reference code (DEC-keras ``autoencoder``: ``act='relu'``, no activation on the embedding or
the output layer) and DCEC's (``ConvAE.CAE``). The architecture travels with the weights
(``arch``) so a checkpoint rebuilds its own network.

Weight initialisation (``init`` in an autoencoder config; part of its fingerprint):
``null`` keeps the architecture's own (PyTorch's default for ``dense``, Glorot/Xavier-uniform
for ``conv`` as in DCEC's code); ``glorot_uniform`` is Keras' default kernel initialiser (DEC-keras
on USPS); ``fan_in_uniform`` draws every weight uniformly in ±sqrt(1/fan_in), Keras'
``VarianceScaling(scale=1/3, mode='fan_in', distribution='uniform')`` of DEC-keras on MNIST,
Fashion-MNIST and REUTERS-10K. The last two set every bias to zero, as Keras does.

Every autoencoder works on flat rows ``(n, d)``. ``image_shape`` (c, h, w) records, for image
data, how a row is an image, so that augmentation (``deepclust.augment``) can shift and rotate
it; it is ``None`` for other data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from deepclust.models.params import autoencoder_params


class _EncoderDecoder(nn.Module):
    """What every autoencoder is: ``encoder`` and ``decoder`` modules on flat rows."""

    encoder: nn.Module
    decoder: nn.Module

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class FeedforwardAutoencoder(_EncoderDecoder):
    def __init__(self, dims: list[int], image_shape: tuple[int, int, int] | None = None):
        super().__init__()
        if len(dims) < 2:
            raise ValueError(f"an autoencoder needs at least input and embedding sizes, got {dims}")
        if image_shape is not None and math.prod(image_shape) != dims[0]:
            raise ValueError(f"image shape {tuple(image_shape)} does not have {dims[0]} values")
        self.dims = list(dims)
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.encoder = _mlp(self.dims)
        self.decoder = _mlp(self.dims[::-1])

    @property
    def arch(self) -> dict:
        return {"kind": "dense", "dims": self.dims, "image_shape": self.image_shape}

    @property
    def embedding_dim(self) -> int:
        return self.dims[-1]


def _mlp(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


WEIGHT_INITS = ("glorot_uniform", "fan_in_uniform")


@torch.no_grad()
def initialize_weights(module: nn.Module, scheme: str | None) -> None:
    """Re-initialise every linear and (transposed) convolution layer of ``module`` in place
    with ``scheme`` (module docstring); ``None`` leaves the weights as they are."""
    if scheme is None:
        return
    if scheme not in WEIGHT_INITS:
        raise ValueError(f"unknown weight init '{scheme}'; known: {', '.join(WEIGHT_INITS)}")
    for m in module.modules():
        if not isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            continue
        if scheme == "glorot_uniform":
            nn.init.xavier_uniform_(m.weight)
        else:
            fan_in = m.weight[0].numel()  # inputs per output unit (× kernel size)
            bound = math.sqrt(1.0 / fan_in)
            nn.init.uniform_(m.weight, -bound, bound)
        nn.init.zeros_(m.bias)


class ConvAutoencoder(_EncoderDecoder):
    """DCEC's convolutional autoencoder (Guo, Liu, Zhu, Yin, ICONIP 2017; reference code
    ``ConvAE.CAE``), which DEKM uses for images too (paper 002, Sec. IV-C).

    Encoder: one stride-2 convolution per entry of ``channels``, each followed by ReLU, with
    kernel 5 and 'same' padding except the last, which has kernel 3 and 'same' padding only
    along an axis whose size is a multiple of 2^len(channels) ('valid' otherwise: DCEC's
    ``pad3``, 28 → 14 → 7 → 3 on MNIST); then a linear dense layer to the embedding. Decoder:
    a dense layer with ReLU back to the last feature map, then the transposed convolutions in
    mirror order (ReLU between them, the last one linear, to ``c`` channels). Each transposed
    convolution is given the ``output_padding`` that restores exactly the size of the
    corresponding encoder input ("appropriately zero-padded to match the input size of the
    corresponding encoder layer", paper 002 Sec. IV-C), so any (h, w) works. Weights are
    Xavier-uniform, biases zero (paper 002 Sec. IV-C; Keras' defaults in DCEC's code). 'Same'
    padding is symmetric here; Keras puts the extra pixel of an even size at the bottom/right
    (same sizes, sampling grid shifted by one pixel).

    Takes and returns flat rows (n, c·h·w); the reshaping is the first layer of ``encoder``
    and the last of ``decoder``, so every parameter belongs to one of the two.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        channels: Sequence[int] = (32, 64, 128),
        embedding_dim: int = 10,
    ):
        super().__init__()
        if image_shape is None or len(image_shape) != 3:
            raise ValueError(
                f"a conv autoencoder needs an image shape (c, h, w), not {image_shape}"
            )
        if not channels:
            raise ValueError("a conv autoencoder needs at least one convolution (channels)")
        self.image_shape = tuple(int(v) for v in image_shape)
        self.channels = [int(v) for v in channels]
        self.embedding_dim = int(embedding_dim)
        c, h, w = self.image_shape
        n = len(self.channels)
        kernels = [5] * (n - 1) + [3]
        sizes = [(h, w)]  # the input size of each convolution, then the final feature map
        paddings = []
        for i, k in enumerate(kernels):
            last = i == n - 1
            pad = tuple(0 if last and s % 2**n else k // 2 for s in (h, w))
            out = tuple((s + 2 * p - k) // 2 + 1 for s, p in zip(sizes[-1], pad, strict=True))
            if min(out) < 1:
                raise ValueError(
                    f"image shape {self.image_shape} is too small for {n} stride-2 convolutions"
                )
            paddings.append(pad)
            sizes.append(out)
        widths = [c, *self.channels]
        flat = widths[-1] * sizes[-1][0] * sizes[-1][1]

        encoder: list[nn.Module] = [nn.Unflatten(1, self.image_shape)]
        for i, k in enumerate(kernels):
            encoder += [nn.Conv2d(widths[i], widths[i + 1], k, 2, paddings[i]), nn.ReLU()]
        encoder += [nn.Flatten(), nn.Linear(flat, self.embedding_dim)]
        decoder: list[nn.Module] = [
            nn.Linear(self.embedding_dim, flat),
            nn.ReLU(),
            nn.Unflatten(1, (widths[-1], *sizes[-1])),
        ]
        for i in reversed(range(n)):
            k, pad = kernels[i], paddings[i]
            output_padding = tuple(
                t - ((s - 1) * 2 - 2 * p + k)
                for t, s, p in zip(sizes[i], sizes[i + 1], pad, strict=True)
            )
            decoder.append(nn.ConvTranspose2d(widths[i + 1], widths[i], k, 2, pad, output_padding))
            if i > 0:
                decoder.append(nn.ReLU())
        decoder.append(nn.Flatten())
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    @property
    def arch(self) -> dict:
        return {
            "kind": "conv",
            "image_shape": self.image_shape,
            "channels": self.channels,
            "embedding_dim": self.embedding_dim,
        }


Autoencoder = FeedforwardAutoencoder | ConvAutoencoder


def build(arch: dict) -> Autoencoder:
    if arch["kind"] == "dense":
        return FeedforwardAutoencoder(arch["dims"], image_shape=arch.get("image_shape"))
    if arch["kind"] == "conv":
        return ConvAutoencoder(arch["image_shape"], arch["channels"], arch["embedding_dim"])
    raise ValueError(f"unknown autoencoder kind '{arch['kind']}'; known: dense, conv")


def from_config(ae_cfg: dict, d: int, image_shape: tuple[int, int, int] | None) -> Autoencoder:
    """The untrained autoencoder that an ``autoencoders.<name>`` config describes for rows of
    ``d`` values (images of ``image_shape``, if given); missing keys take their defaults."""
    cfg = autoencoder_params(ae_cfg)
    kind = cfg.kind
    if kind == "dense":
        dims = [d, *cfg.hidden, cfg.embedding_dim]
        ae = FeedforwardAutoencoder(dims, image_shape=image_shape)
    elif kind == "conv":
        if image_shape is None:
            raise ValueError(
                "autoencoder kind 'conv' needs image data; dataset rows have no image shape"
            )
        if math.prod(image_shape) != d:
            raise ValueError(f"image shape {tuple(image_shape)} does not have {d} values")
        if cfg.pretraining != "end_to_end":
            raise ValueError("autoencoder kind 'conv' supports only pretraining: end_to_end")
        ae = ConvAutoencoder(image_shape, cfg.channels, cfg.embedding_dim)
    else:
        raise ValueError(f"unknown autoencoder kind '{kind}'; known: dense, conv")
    initialize_weights(ae, cfg.init)
    return ae


@torch.no_grad()
def embed(ae: Autoencoder, X: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Encode all of ``X`` in evaluation mode, batch by batch."""
    was_training = ae.training
    ae.eval()
    z = torch.cat([ae.encode(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
    ae.train(was_training)
    return z
