"""Shared fixtures: tiny, deterministic data and autoencoders on the CPU."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from deepclust.algorithms.base import InitialClustering
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.seeding import seed_everything

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "tests" / "config.tiny.yaml"


@pytest.fixture
def blobs() -> tuple[torch.Tensor, np.ndarray]:
    """Three well separated clusters of 30 points in 8-D, values in [0, 1]."""
    rng = np.random.default_rng(0)
    centers = rng.uniform(0.1, 0.9, size=(3, 8))
    y = np.repeat(np.arange(3), 30)
    X = centers[y] + 0.03 * rng.standard_normal((90, 8))
    return torch.tensor(X, dtype=torch.float32), y


@pytest.fixture
def tiny_ae(blobs) -> FeedforwardAutoencoder:
    seed_everything(0)
    return FeedforwardAutoencoder([8, 16, 3])


@pytest.fixture
def tiny_init(blobs, tiny_ae) -> InitialClustering:
    X, _ = blobs
    return kmeans_init(embed(tiny_ae, X).numpy(), 3, n_init=5, max_iter=100, seed=0)


@pytest.fixture(scope="session")
def project_env() -> dict[str, str]:
    """Environment for subprocesses: this interpreter's bin first on PATH, no GPU."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env
