"""DCN: Deep Clustering Network (Yang, Fu, Sidiropoulos, Hong, ICML 2017).

Alternating (survey Sec. 3.2.2, Eq. 9-10). Per mini-batch:

1. network step on L = L_rec + λ · L_clust with L_clust = 1/(2|B|) Σ_i ‖z_i − μ_{h(i)}‖²
   (Eq. 9) and the assignments h(i) held fixed;
2. re-assign the batch's samples to their nearest center in the updated embedding;
3. move each center by μ_j ← μ_j − (1/c_j)(μ_j − z_i), c_j counting the samples assigned to
   cluster j so far (Eq. 10), one sample at a time. ``update_centers`` does this in closed
   form: the sequential rule is a running mean, so m new samples with sum S give
   μ_j ← (c_j μ_j + S) / (c_j + m).

L_rec is the per-feature mean squared error (survey Eq. 2); L_clust sums over the embedding
dimensions and averages over the batch. The survey does not say how c_j starts; we start every
count at ``initial_count`` = 100, as the DKM authors' DCN re-implementation does
(``initial_count = tf.constant(100.0)`` in MaziarMF/deep-k-means ``compgraph.py``, "inspired by
boyangumn/DCN"), so the first batches do not drag the k-means centers to a batch mean. Table 4
lists DCN's batch size as "0.01 X" (1 % of the data?); we use 256.
The final labels are DCN's own: nearest center in the final embedding.

Paper defaults (survey Appendix Table 4, MNIST): 50 clustering epochs, SGD with momentum 0.9,
lr 0.05, λ = 0.05 (the table lists "1 or 0.05" for MNIST), k-means initialisation.

Data augmentation (survey Sec. 5.2, ``augment=True``, image data only): each batch also gets a
randomly shifted and rotated copy x^A (``deepclust.augment``, from the run's generator); the
loss is Eq. 21 with Eq. 20's ½(MSE(x, x̂) + MSE(x^A, x̂^A)) and, for the clustering term, the
construction of AEC's Eq. 22 applied to Eq. 9 (our reading of the survey's "comparable
adjustments"): 1/(2|B|) Σ_i (½‖z_i − μ_{h(i)}‖² + ½‖z_i^A − μ_{h(i)}‖²), both pulled to the
center of the original sample's assignment. Re-assignment and the center update (Eq. 10) use
the original samples only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    augmentation,
    fraction_changed,
    nearest_center,
    refined_result,
)
from deepclust.losses import reconstruction_loss
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
class DCNParams(Augmentation):
    lam: float = param(0.05, ge=0)  # λ, weight of the clustering loss (Table 4, MNIST)
    epochs: int = param(50, ge=1)  # clustering epochs (Table 4)
    batch_size: int = batch_size_param()
    optimizer: str = optimizer_param("sgd")  # Table 4
    lr: float = lr_param(0.05)  # Table 4, MNIST
    momentum: float = momentum_param(0.9)  # Table 4
    initial_count: float = param(100.0, gt=0)  # starting value of each c_j in Eq. 10


FAST = {"epochs": 20, "lam": 1.0, "optimizer": "adam", "lr": 0.001}
TINY = {"epochs": 3, "batch_size": 32}
PAPER = {  # Table 4: the defaults are MNIST's; 20 Newsgroups and RCV1 differ
    "by_dataset": {
        "20news": {"lam": 10.0, "lr": 0.001},
        "reuters10k": {"lam": 0.1},
        "rcv1_10k": {"lam": 0.1},
    }
}


def clustering_loss(z: torch.Tensor, assigned_centers: torch.Tensor) -> torch.Tensor:
    """Survey Eq. 9: 1/(2|B|) Σ_i ‖z_i − μ_{h(i)}‖²."""
    return 0.5 * (z - assigned_centers).pow(2).sum(dim=1).mean()


def augmented_clustering_loss(
    z: torch.Tensor, z_aug: torch.Tensor, assigned_centers: torch.Tensor
) -> torch.Tensor:
    """Eq. 9 made like the survey's Eq. 22: the mean of Eq. 9 for z and for z^A, both with the
    original samples' centers μ_{h(i)}."""
    return 0.5 * (clustering_loss(z, assigned_centers) + clustering_loss(z_aug, assigned_centers))


@torch.no_grad()
def update_centers(
    centers: torch.Tensor, counts: torch.Tensor, z: torch.Tensor, labels: torch.Tensor
) -> None:
    """Survey Eq. 10 applied to every row of ``z`` in turn, in place (closed form)."""
    k = len(centers)
    m = torch.bincount(labels, minlength=k).to(centers.dtype)
    sums = torch.zeros_like(centers).index_add_(0, labels, z)
    new_counts = counts + m
    centers.copy_((counts[:, None] * centers + sums) / new_counts[:, None])
    counts.copy_(new_counts)


@dataclass
class DCNState(TrainingState):
    """What DCN's callbacks keep between steps: the centroids M and their counts (Eq. 7-8),
    every sample's assignment s_i, and the assignments at the start of the epoch."""

    centers: torch.Tensor
    counts: torch.Tensor
    labels: torch.Tensor
    epoch_start_labels: torch.Tensor


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DCNParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    augment = augmentation(ae, params, generator, "dcn")
    centers = torch.as_tensor(init.centers, dtype=X.dtype, device=X.device).clone()
    counts = torch.full((len(centers),), params.initial_count, dtype=X.dtype, device=X.device)
    labels = torch.as_tensor(init.labels, device=X.device).clone()
    state = DCNState(centers, counts, labels, epoch_start_labels=labels.clone())
    batch_size = min(params.batch_size, len(X))
    steps_per_epoch = -(-len(X) // batch_size)
    optimizer = make_optimizer(ae.parameters(), params.optimizer, params.lr, params.momentum)

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        assigned = state.centers[state.labels[idx]]
        z = ae.encode(x)
        if augment is None:
            rec = reconstruction_loss(ae.decode, x, z)
            clust = clustering_loss(z, assigned)
        else:
            x_aug = augment(x)
            z_aug = ae.encode(x_aug)
            rec = reconstruction_loss(ae.decode, x, z, x_aug, z_aug)  # Eq. 20
            clust = augmented_clustering_loss(z, z_aug, assigned)
        return {"loss": rec + params.lam * clust, "reconstruction": rec, "clustering": clust}

    def after_step(x: torch.Tensor, idx: torch.Tensor) -> None:
        with torch.no_grad():
            z = ae.encode(x)
            state.labels[idx] = nearest_center(z, state.centers)
            update_centers(state.centers, state.counts, z, state.labels[idx])

    def before_step(step: int) -> dict | None:
        if step == 0 or step % steps_per_epoch:
            return None
        delta, n_changed = fraction_changed(state.labels, state.epoch_start_labels)
        state.epoch_start_labels.copy_(state.labels)
        return {"delta_label": delta, "n_changed": n_changed}

    objective = Objective(
        batch_loss=batch_loss, before_step=before_step, after_step=after_step, state=state
    )
    history = train(
        objective,
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=params.epochs * steps_per_epoch,
        generator=generator,
        desc="dcn",
        progress=progress,
        checkpointer=checkpointer,
    )
    z = embed(ae, X)
    return refined_result(ae, z, nearest_center(z, state.centers), state.centers, history)


ALGORITHM = Algorithm(
    name="dcn",
    family="alternating",
    params=DCNParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY, "paper": PAPER},
)
