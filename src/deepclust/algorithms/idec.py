"""IDEC: Improved Deep Embedded Clustering (Guo, Gao, Liu, Yin, IJCAI 2017).

DEC (survey Eq. 14-16, see ``dec.py``) with the decoder kept: L = L_rec + γ · KL(P‖Q)
(survey Sec. 3.3.2 and Table 5: λ1 = 1, λ2 = γ = 0.1). L_rec is the per-feature mean squared
error averaged over the batch and KL is summed over clusters and averaged over the batch,
which is the convention of the official Keras code (``loss=['kld', 'mse'],
loss_weights=[gamma, 1]``), so γ = 0.1 means what it means there.

Paper defaults (Table 5, MNIST): Adam lr 0.001, batch 256, T = 140, δ = 0.1 %.
USPS and Reuters-10K use SGD lr 0.1, momentum 0.99 and T = 30 / 3: the `paper` preset sets them
per dataset (`PAPER`).

``augment=True`` (image data only): L^A = L_rec^A + γ · L_clust^A (survey Eq. 21) with Eq. 20's
reconstruction and Eq. 24's KL; see ``dec.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from deepclust.algorithms.base import Algorithm, ClusteringResult, InitialClustering
from deepclust.algorithms.dec import FAST, TINY, refine_kl
from deepclust.models.autoencoder import FeedforwardAutoencoder
from deepclust.params import (
    Augmentation,
    batch_size_param,
    lr_param,
    momentum_param,
    optimizer_param,
    param,
)
from deepclust.training import Checkpointer


@dataclass(frozen=True)
class IDECParams(Augmentation):
    gamma: float = param(0.1, ge=0)  # weight of the clustering loss (Table 5)
    alpha: float = param(1.0, gt=0)  # Table 5
    update_interval: int = param(140, ge=1)  # T for MNIST (Table 5)
    tol: float = param(0.001, ge=0)  # δ = 0.1 % (Table 5)
    max_iter: int = param(20000, ge=1)  # IDEC code's maxiter
    batch_size: int = batch_size_param()  # Table 5
    optimizer: str = optimizer_param("adam")  # Table 5, MNIST
    lr: float = lr_param(0.001)  # Table 5, MNIST
    momentum: float = momentum_param(0.0)  # unused by Adam; 0.99 with SGD for USPS/Reuters-10K


_SGD = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.99}
PAPER = {  # Table 5: the defaults are MNIST's; USPS and Reuters-10K differ
    "by_dataset": {
        "usps": {**_SGD, "update_interval": 30},
        "reuters10k": {**_SGD, "update_interval": 3},
        "rcv1_10k": {**_SGD, "update_interval": 3},
    }
}


def total_loss(
    reconstruction: torch.Tensor, clustering: torch.Tensor, gamma: float
) -> torch.Tensor:
    """IDEC's objective L = L_rec + γ · L_clust (survey Eq. 7 with λ1 = 1, λ2 = γ)."""
    return reconstruction + gamma * clustering


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: IDECParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    return refine_kl(
        autoencoder,
        X,
        init,
        params,
        combine=functools.partial(total_loss, gamma=params.gamma),
        generator=generator,
        progress=progress,
        checkpointer=checkpointer,
        desc="idec",
    )


ALGORITHM = Algorithm(
    name="idec",
    family="simultaneous",
    params=IDECParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY, "paper": PAPER},
)
