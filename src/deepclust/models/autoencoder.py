"""The feed-forward autoencoder d-500-500-2000-10 of DEC/IDEC/DCN (and any other widths).

Hidden layers use ReLU; the embedding and the reconstruction are linear, as in DEC's
reference code (DEC-keras ``autoencoder``: ``act='relu'``, no activation on the embedding or
the output layer). The architecture travels with the weights (``arch``) so a checkpoint
rebuilds its own network.

Every autoencoder works on flat rows ``(n, d)``. ``image_shape`` (c, h, w) records, for image
data, how a row is an image, so that augmentation (``deepclust.augment``) can shift and rotate
it; it is ``None`` for other data.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn


class FeedforwardAutoencoder(nn.Module):
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

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def _mlp(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build(arch: dict) -> FeedforwardAutoencoder:
    if arch["kind"] != "dense":
        raise ValueError(f"unknown autoencoder kind '{arch['kind']}'; known: dense")
    return FeedforwardAutoencoder(arch["dims"], image_shape=arch.get("image_shape"))


def from_config(
    ae_cfg: dict, d: int, image_shape: tuple[int, int, int] | None
) -> FeedforwardAutoencoder:
    """The untrained autoencoder that an ``autoencoders.<name>`` config describes for rows of
    ``d`` values (images of ``image_shape``, if given)."""
    kind = ae_cfg.get("kind", "dense")
    if kind == "dense":
        dims = [d, *ae_cfg["hidden"], ae_cfg["embedding_dim"]]
        return FeedforwardAutoencoder(dims, image_shape=image_shape)
    raise ValueError(f"unknown autoencoder kind '{kind}'; known: dense")


@torch.no_grad()
def embed(ae: FeedforwardAutoencoder, X: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Encode all of ``X`` in evaluation mode, batch by batch."""
    was_training = ae.training
    ae.eval()
    z = torch.cat([ae.encode(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
    ae.train(was_training)
    return z
