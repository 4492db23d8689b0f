"""DAMIC's networks (Chazan, Gannot, Goldberger, 2019; paper 004, Sec. 2 and 3.4): k expert
autoencoders and the clustering network. The training lives in ``algorithms/damic.py``.

These are not the pipeline's shared autoencoder: DAMIC's experts are k separate autoencoders
(d-1024-256-k-256-1024-d, batch norm on every hidden layer, sigmoid outputs), each pretrained
on its own k-means cluster, and its clustering network is a classifier on x, not on an
embedding. The paper uses its single autoencoder only to obtain those k-means labels (Sec. 2:
"in the pre-training procedure a *single* autoencoder is trained on the entire database").
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


def mlp(dims: list[int], batch_norm: bool) -> nn.Sequential:
    """Linear (→ BatchNorm) → ReLU for every layer of ``dims``."""
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), *([nn.BatchNorm1d(b)] if batch_norm else []), nn.ReLU()]
    return nn.Sequential(*layers)


class ClusteringNetwork(nn.Module):
    """x → h(x) (hidden layers) → logits w_i h(x) + b_i (Eq. 1)."""

    def __init__(self, d: int, hidden: tuple[int, ...], k: int, batch_norm: bool):
        super().__init__()
        self.body = mlp([d, *hidden], batch_norm)
        self.head = nn.Linear(hidden[-1] if hidden else d, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class Experts(nn.Module):
    """k autoencoders d-hidden-e-reversed(hidden)-d; ``forward`` gives (n, k, d)."""

    def __init__(self, k: int, dims: list[int], batch_norm: bool, sigmoid: bool):
        super().__init__()
        widths = [*dims, *dims[-2::-1]]
        self.nets = nn.ModuleList(
            nn.Sequential(
                mlp(widths[:-1], batch_norm),
                nn.Linear(widths[-2], widths[-1]),
                *([nn.Sigmoid()] if sigmoid else []),
            )
            for _ in range(k)
        )

    @classmethod
    def for_params(cls, d: int, k: int, params, sigmoid: bool) -> Experts:
        """The experts of DAMIC's ``params`` for d-dimensional data: d-hidden-e, e =
        ``params.embedding_dim`` or k."""
        return cls(k, [d, *params.hidden, params.embedding_dim or k], params.batch_norm, sigmoid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(x) for net in self.nets], dim=1)
