"""The dataset registry: name → how to build the prepared arrays.

Every prepared dataset is ``X`` float32 of shape (n, d) and ``y`` int64 of shape (n,);
``image_shape`` (c, h, w) lets a convolutional autoencoder view the same array as images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclust.data import synthetic


@dataclass(frozen=True)
class Dataset:
    name: str
    n_clusters: int
    kind: str  # "image" | "text" | "synthetic"
    source: str
    load: Callable[[Path | None], tuple[np.ndarray, np.ndarray]]  # mirror folder → (X, y)
    image_shape: tuple[int, int, int] | None = None


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="digits",
            n_clusters=10,
            kind="image",
            source="scikit-learn load_digits (UCI optdigits test set), embedded",
            load=lambda mirror: synthetic.digits(),
            image_shape=(1, 8, 8),
        ),
        Dataset(
            name="damic_synthetic",
            n_clusters=4,
            kind="synthetic",
            source="DAMIC paper (004) Eq. 8, generated from a fixed seed",
            load=lambda mirror: synthetic.damic(),
        ),
    )
}


def get(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset '{name}'; known: {', '.join(DATASETS)}") from None
