"""Embedded datasets that need no download: scikit-learn's digits and DAMIC's synthetic data."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

DAMIC_SEED = 2019  # fixed, so every user gets the same 4,000 points


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8×8 digits: 1,797 × 64, 10 classes, pixel counts 0..16 scaled to [0, 1]."""
    bunch = load_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    return X, bunch.target.astype(np.int64)


def damic(
    n_samples: int = 4000, n_features: int = 100, seed: int = DAMIC_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic data of DAMIC (paper 004, Sec. 3.5.1, Eq. 8): x_t = (σ(W v_t))².

    v_t are 4,000 points of four Gaussian clusters in a 2-D latent space and W ∈ R^{100×2}.
    DAMIC generates them "as in [26]" (DCN, Yang et al. 2017) without the parameters; we take
    those of DCN's authors' generator (``data_gen.py`` of github.com/boyangumn/DCN, its
    "working configuration" x = σ(W v)²): 1,000 points per cluster around 10·(1, 1),
    10·(0, 0), 10·(1, 0) and 10·(0, 1) with standard deviation 1.5, and W with i.i.d. N(0, 1)
    entries. The latent clusters are well apart, but the sigmoid saturates the far ones and
    leaves the one at the origin spread out, so k-means on x gets NMI 0.77-0.80 over seeds of
    W (DAMIC's Table 2: 0.80).
    """
    rng = np.random.default_rng(seed)
    k = 4
    means = 10.0 * np.array([[1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = np.repeat(np.arange(k), n_samples // k)
    y = np.concatenate([y, rng.integers(0, k, n_samples - y.size)])
    v = means[y] + 1.5 * rng.standard_normal((n_samples, 2))
    W = rng.standard_normal((n_features, 2))
    X = (1.0 / (1.0 + np.exp(-(v @ W.T)))) ** 2
    order = rng.permutation(n_samples)
    return X[order].astype(np.float32), y[order].astype(np.int64)
