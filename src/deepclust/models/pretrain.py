"""End-to-end autoencoder pretraining (survey Algorithm 1, MSE reconstruction, Eq. 1-2).

The reconstruction loss is ``F.mse_loss`` with its default mean over features and batch,
the convention of Keras' ``mse`` used by the DEC/IDEC reference code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from deepclust.models.autoencoder import FeedforwardAutoencoder
from deepclust.training import Objective, make_optimizer, train


def reconstruction_loss(ae: FeedforwardAutoencoder, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(ae(x), x)


def pretrain(
    ae_cfg: dict,
    X: torch.Tensor,
    *,
    generator: torch.Generator,
    progress: bool = True,
) -> tuple[FeedforwardAutoencoder, list[dict]]:
    """Build the autoencoder that ``ae_cfg`` describes for ``X`` and train it to reconstruct."""
    dims = [X.shape[1], *ae_cfg["hidden"], ae_cfg["embedding_dim"]]
    ae = FeedforwardAutoencoder(dims).to(X.device)
    optimizer = make_optimizer(ae.parameters(), ae_cfg["optimizer"], ae_cfg["lr"], momentum=0.9)
    objective = Objective(batch_loss=lambda x, idx: {"loss": reconstruction_loss(ae, x)})
    batch_size = min(ae_cfg["batch_size"], len(X))
    history = train(
        objective,
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=ae_cfg["epochs"] * math.ceil(len(X) / batch_size),
        generator=generator,
        desc="pretrain",
        progress=progress,
    )
    return ae, history
