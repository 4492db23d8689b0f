"""The feed-forward autoencoder d-500-500-2000-10 of DEC/IDEC/DCN (and any other widths).

Hidden layers use ReLU; the embedding and the reconstruction are linear, as in DEC's
reference code (DEC-keras ``autoencoder``: ``act='relu'``, no activation on the embedding or
the output layer). The architecture travels with the weights (``arch``) so a checkpoint
rebuilds its own network.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


class FeedforwardAutoencoder(nn.Module):
    def __init__(self, dims: list[int]):
        super().__init__()
        if len(dims) < 2:
            raise ValueError(f"an autoencoder needs at least input and embedding sizes, got {dims}")
        self.dims = list(dims)
        self.encoder = _mlp(self.dims)
        self.decoder = _mlp(self.dims[::-1])

    @property
    def arch(self) -> dict:
        return {"kind": "dense", "dims": self.dims}

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
    return FeedforwardAutoencoder(arch["dims"])


@torch.no_grad()
def embed(ae: FeedforwardAutoencoder, X: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Encode all of ``X`` in evaluation mode, batch by batch."""
    was_training = ae.training
    ae.eval()
    z = torch.cat([ae.encode(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])
    ae.train(was_training)
    return z
