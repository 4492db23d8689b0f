"""DEC: Deep Embedded Clustering (Xie, Girshick, Farhadi, ICML 2016).

Survey (paper 000) Eq. 14-16, which are Eq. 1, 3 and 2 of Xie et al.:

- soft assignment q_ij, a Student-t kernel between z_i and the centers μ_j (Eq. 14);
- target distribution p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j'), f_j = Σ_i q_ij (Eq. 15);
- clustering loss KL(P‖Q) (Eq. 16), summed over clusters and averaged over the batch
  (Keras' ``kld`` as in DEC-keras).

These three, Eq. 24's augmented KL and Eq. 20's reconstruction are defined in
``deepclust.losses`` (IDEC, DCEC and DynAE use them too); ``refine_kl`` below is the procedure.

As in the paper, P is computed over the *whole dataset* every ``update_interval`` steps and
frozen in between (not per mini-batch); training stops when fewer than ``tol`` of the labels
changed between two such updates, or after ``max_iter`` steps. The decoder is dropped (λ1 = 0,
survey Sec. 3.3.1); the encoder and the centers μ are optimised.

Paper defaults (survey Appendix Table 5): batch 256, SGD lr 0.01 (momentum 0.9 as in DEC-keras,
which the table does not list), α = 1, tol = 0.1 %, k-means with 20 restarts. ``update_interval``
140 is IDEC's MNIST value (DEC-keras uses 140 for MNIST too); ``max_iter`` 20,000 is DEC-keras'.
Table 5's greedy layer-wise denoising pretraining (DEC and IDEC) is an autoencoder
configuration (``pretraining: layerwise``, see ``models/pretrain.py``), not a parameter here.

Data augmentation (survey Sec. 5.2, ``augment=True``, image data only): each batch also gets a
randomly shifted and rotated copy x^A (``deepclust.augment``, drawn from the run's generator)
and the clustering loss becomes Eq. 24, ½(KL(P‖Q) + KL(P‖Q^A)), where q^A_ij is the soft
assignment of z_i^A = enc(x_i^A) (Eq. 25) and P is still computed from the original samples
only, so that x_i and x_i^A share their target. IDEC's reconstruction term becomes Eq. 20's
½(MSE(x, x̂) + MSE(x^A, x̂^A)) (Eq. 21).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    augmentation,
    fraction_changed,
    refined_result,
)
from deepclust.losses import (
    augmented_kl_divergence,
    kl_divergence,
    reconstruction_loss,
    soft_assignment,
    target_distribution,
)
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.params import (
    Augmentation,
    batch_size_param,
    lr_param,
    momentum_param,
    optimizer_param,
    param,
)
from deepclust.training import Checkpointer, Objective, TrainingState, make_optimizer, train


@dataclass(frozen=True)
class DECParams(Augmentation):
    alpha: float = param(1.0, gt=0)  # Student-t degrees of freedom (Table 5)
    update_interval: int = param(140, ge=1)  # steps between target updates T (IDEC Table 5, MNIST)
    tol: float = param(0.001, ge=0)  # stop when < 0.1 % of labels change (Table 5)
    max_iter: int = param(20000, ge=1)  # DEC-keras maxiter
    batch_size: int = batch_size_param()  # Table 5
    optimizer: str = optimizer_param("sgd")  # Table 5
    lr: float = lr_param(0.01)  # Table 5
    momentum: float = momentum_param(0.9)  # DEC-keras SGD(0.01, 0.9)


# A short run for CPUs: T and the step budget of the KL loop, also IDEC's and DCEC's (they run
# refine_kl) and DynAE's (whose T and steps count alike).
FAST = {"update_interval": 30, "max_iter": 600}
TINY = {"update_interval": 3, "max_iter": 30, "batch_size": 32}  # also IDEC's and DCEC's
# The defaults are MNIST's (and Fashion-MNIST's); DEC-keras' run_exp.py sets T per dataset.
PAPER = {
    "by_dataset": {
        "usps": {"update_interval": 30},
        "reuters10k": {"update_interval": 30},
        "rcv1_10k": {"update_interval": 30},
    }
}


@dataclass
class KLState(TrainingState):
    """What DEC's callbacks keep between steps: the target P of the whole dataset (Eq. 15) and
    the labels of the last update (for ``delta_label``)."""

    p: torch.Tensor
    labels: torch.Tensor


def refine_kl(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params,
    *,
    combine: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None,
    generator: torch.Generator,
    progress: bool,
    checkpointer: Checkpointer | None,
    desc: str,
) -> ClusteringResult:
    """DEC's procedure. ``combine(rec, clust)`` makes the loss from the reconstruction MSE and
    KL(P‖Q) and keeps the decoder in training (IDEC); ``None`` is DEC's KL alone, no decoder.
    With ``params.augment`` both terms are their augmented versions (Eq. 20, 24)."""
    ae = copy.deepcopy(autoencoder).train()
    augment = augmentation(ae, params, generator, desc)
    centers = nn.Parameter(torch.as_tensor(init.centers, dtype=X.dtype, device=X.device).clone())
    trained = [*ae.encoder.parameters(), centers]
    if combine is not None:
        trained += list(ae.decoder.parameters())
    optimizer = make_optimizer(trained, params.optimizer, params.lr, params.momentum)
    state = KLState(
        p=torch.empty(0, device=X.device), labels=torch.as_tensor(init.labels, device=X.device)
    )

    def before_step(step: int) -> dict | None:
        if step % params.update_interval:
            return None
        with torch.no_grad():
            q = soft_assignment(embed(ae, X), centers, params.alpha)
        state.p = target_distribution(q)
        labels = q.argmax(dim=1)
        delta, n_changed = fraction_changed(labels, state.labels)
        state.labels = labels
        if step > 0 and delta < params.tol:
            objective.stop = True
        # the stage's check tells a collapse (fewer clusters) from convergence by this count
        n_found = int(labels.unique().numel())
        return {"delta_label": delta, "n_changed": n_changed, "n_clusters_found": n_found}

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        p = state.p[idx]
        z = ae.encode(x)
        q = soft_assignment(z, centers, params.alpha)
        x_aug = z_aug = None
        if augment is None:
            clust = kl_divergence(p, q)
        else:
            x_aug = augment(x)
            z_aug = ae.encode(x_aug)
            clust = augmented_kl_divergence(p, q, soft_assignment(z_aug, centers, params.alpha))
        if combine is None:
            return {"loss": clust}
        rec = reconstruction_loss(ae.decode, x, z, x_aug, z_aug)  # Eq. 20 when augmented
        return {"loss": combine(rec, clust), "reconstruction": rec, "clustering": clust}

    objective = Objective(batch_loss=batch_loss, before_step=before_step, state=state)
    history = train(
        objective,
        X,
        optimizer,
        batch_size=min(params.batch_size, len(X)),
        max_steps=params.max_iter,
        generator=generator,
        desc=desc,
        progress=progress,
        checkpointer=checkpointer,
    )
    z = embed(ae, X)
    with torch.no_grad():
        labels = soft_assignment(z, centers, params.alpha).argmax(dim=1)
    return refined_result(ae, z, labels, centers, history)


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DECParams,
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
        combine=None,
        generator=generator,
        progress=progress,
        checkpointer=checkpointer,
        desc="dec",
    )


ALGORITHM = Algorithm(
    name="dec",
    family="simultaneous",
    params=DECParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY, "paper": PAPER},
)
