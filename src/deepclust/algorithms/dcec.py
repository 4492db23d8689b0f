"""DCEC: Deep Convolutional Embedded Clustering (Guo, Liu, Zhu, Yin, "Deep Clustering with
Convolutional Autoencoders", ICONIP 2017).

Survey (paper 000) Sec. 3.3.3: IDEC's optimisation with a convolutional autoencoder instead of
a feed-forward one. The loss is IDEC's L = L_rec + γ · KL(P‖Q) (``idec.total_loss``; Q, P and
KL are survey Eq. 14-16, see ``dec.py``), with P recomputed on all data every
``update_interval`` steps, the decoder kept, and encoder, decoder and centers trained together
(``dec.refine_kl``). The network is the ``kind: conv`` autoencoder of ``models/autoencoder.py``
(DCEC's ``ConvAE.CAE``): fitting refuses any other kind.

Paper defaults: survey Appendix Table 5 gives α = 1, δ = 0.1 %, T = 140, λ1 = 1, λ2 = γ = 0.1,
k-means initialisation and 200 pretraining epochs with Adam, but † for the batch size, the
clustering optimizer and both learning rates. Those come from the authors' DCEC.py: batch
256, ``maxiter`` 2·10⁴, Adam with Keras' default lr 0.001 (``optimizer = 'adam'``), k-means
with 20 restarts. The pretraining (Adam, 200 epochs, batch 256) is an autoencoder
configuration, not a parameter here.

``augment=True``: IDEC's augmented loss (survey Eq. 20, 21, 24), see ``dec.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from deepclust.algorithms.base import Algorithm, ClusteringResult, InitialClustering
from deepclust.algorithms.dec import FAST, TINY, refine_kl
from deepclust.algorithms.idec import total_loss
from deepclust.models.autoencoder import Autoencoder, ConvAutoencoder
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
class DCECParams(Augmentation):
    gamma: float = param(0.1, ge=0)  # weight of the clustering loss (Table 5; DCEC.py --gamma)
    alpha: float = param(1.0, gt=0)  # Table 5
    update_interval: int = param(140, ge=1)  # T (Table 5; DCEC.py)
    tol: float = param(0.001, ge=0)  # δ = 0.1 % (Table 5; DCEC.py)
    max_iter: int = param(20000, ge=1)  # DCEC.py --maxiter
    batch_size: int = batch_size_param()  # DCEC.py (Table 5: †)
    optimizer: str = optimizer_param("adam")  # DCEC.py (Table 5: †)
    lr: float = lr_param(0.001)  # Keras' Adam default, as DCEC.py uses it (Table 5: †)
    momentum: float = momentum_param(0.0)  # unused by Adam


def fit(
    autoencoder: Autoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DCECParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    if not isinstance(autoencoder, ConvAutoencoder):
        raise ValueError(
            "dcec needs a convolutional autoencoder (kind: conv); run it from a config whose "
            "autoencoders are all convolutional (e.g. configs/conv.yaml)"
        )
    return refine_kl(
        autoencoder,
        X,
        init,
        params,
        combine=functools.partial(total_loss, gamma=params.gamma),
        generator=generator,
        progress=progress,
        checkpointer=checkpointer,
        desc="dcec",
    )


ALGORITHM = Algorithm(
    name="dcec",
    family="simultaneous",
    params=DCECParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
    autoencoder_kinds=("conv",),
)
