"""The initial clustering: k-means on the pretrained embedding (survey Algorithm 1, line 10)."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from deepclust.algorithms.base import InitialClustering


def kmeans_init(
    embedding: np.ndarray, n_clusters: int, *, n_init: int, max_iter: int, seed: int
) -> InitialClustering:
    """k-means with ``n_init`` restarts (the papers use 20, not scikit-learn's single 'auto')."""
    check_n_clusters(len(embedding), n_clusters)
    km = KMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter, random_state=seed)
    labels = km.fit_predict(embedding.astype(np.float64))
    return InitialClustering(
        labels=labels.astype(np.int64),
        centers=km.cluster_centers_.astype(np.float32),
        inertia=float(km.inertia_),
    )


def check_n_clusters(n_samples: int, n_clusters: int) -> None:
    if n_clusters > n_samples:
        raise ValueError(f"n_clusters={n_clusters} is larger than n_samples={n_samples}")
    if n_clusters < 1:
        raise ValueError(f"n_clusters must be at least 1, got {n_clusters}")
