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
from deepclust.algorithms.dec import refine_kl
from deepclust.models.autoencoder import FeedforwardAutoencoder
from deepclust.training import Checkpointer


@dataclass(frozen=True)
class IDECParams:
    gamma: float = 0.1  # weight of the clustering loss (Table 5)
    alpha: float = 1.0  # Table 5
    update_interval: int = 140  # T for MNIST (Table 5)
    tol: float = 0.001  # δ = 0.1 % (Table 5)
    max_iter: int = 20000  # IDEC code's maxiter
    batch_size: int = 256  # Table 5
    optimizer: str = "adam"  # Table 5, MNIST
    lr: float = 0.001  # Table 5, MNIST
    momentum: float = 0.0  # unused by Adam; 0.99 with SGD for USPS/Reuters-10K
    augment: bool = False  # survey Eq. 20, 21, 24 (image data only)
    max_shift: float = 1.0  # pixels, as DynAE's augmentation
    max_rotation: float = 10.0  # degrees, as DynAE's augmentation


FAST = {"update_interval": 30, "max_iter": 600}
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
    presets={"fast": FAST, "paper": PAPER},
)
