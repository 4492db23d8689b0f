"""A tiny autoencoder pretrained on the test data, and its k-means start: the state a
refinement starts from in the pipeline (the `tiny_ae` fixture is untrained)."""

import copy
from functools import cache

import torch

from deepclust.algorithms.base import InitialClustering
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.models.pretrain import pretrain


def pretrained_tiny(X: torch.Tensor, embedding_dim: int = 3) -> FeedforwardAutoencoder:
    """A fresh copy of the autoencoder pretrained (once per test session) on ``X``."""
    return copy.deepcopy(_pretrained(X.numpy().tobytes(), tuple(X.shape), embedding_dim))


@cache
def _pretrained(data: bytes, shape: tuple, embedding_dim: int) -> FeedforwardAutoencoder:
    X = torch.frombuffer(bytearray(data), dtype=torch.float32).reshape(shape)
    cfg = {
        "hidden": [16],
        "embedding_dim": embedding_dim,
        "epochs": 150,
        "batch_size": 90,
        "optimizer": "adam",
        "lr": 0.01,
    }
    with torch.random.fork_rng(devices=[]):  # the initial weights come from torch's global RNG
        torch.manual_seed(0)
        ae, _ = pretrain(cfg, X, generator=torch.Generator().manual_seed(0), progress=False)
    return ae


def kmeans_start(ae: FeedforwardAutoencoder, X: torch.Tensor, k: int) -> InitialClustering:
    return kmeans_init(embed(ae, X).numpy(), k, n_init=5, max_iter=100, seed=0)
