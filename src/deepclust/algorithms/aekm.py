"""AE+k-means: the sequential baseline (survey Sec. 3.1, Algorithm 1).

No refinement: the labels are the initial k-means (with the config's ``init.n_init``
restarts, 20 as in the survey's appendix) on the pretrained embedding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deepclust.algorithms.base import Algorithm, ClusteringResult, InitialClustering
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.training import Checkpointer


@dataclass(frozen=True)
class AEKMParams:
    """No parameters of its own: pretraining and k-means are configured upstream."""


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: AEKMParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,  # no training loop: nothing to checkpoint
) -> ClusteringResult:
    return ClusteringResult(
        labels=init.labels.copy(),
        embedding=embed(autoencoder, X).cpu().numpy(),
        centers=init.centers.copy(),
        history=[],
    )


ALGORITHM = Algorithm(
    name="aekm", family="sequential", params=AEKMParams, fit=fit, presets={"tiny": {}}
)
