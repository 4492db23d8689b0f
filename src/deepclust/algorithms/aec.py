"""AEC: Auto-encoder based data clustering (Song, Liu, Huang, Wang, Tan, CIARP 2013).

Alternating (survey, paper 000, Sec. 3.2.1, Eq. 8 and Algorithm 2). Each epoch:

1. network steps on L = λ1 · L_rec + λ2 · L_clust (survey Eq. 7) over shuffled mini-batches,
   with the labels y and the centers μ held fixed, where
   L_clust = (1/|B|) Σ_i ‖z_i − μ_{y_i}‖² (Eq. 8: squared distance summed over the embedding
   dimensions, averaged over the batch) and L_rec the mean squared error averaged over features
   and batch (survey Eq. 2, "MSE" in Table 4);
2. after the epoch, on the whole embedding: first the centers become the means of their
   assigned samples, then every sample is re-assigned to its nearest center (the survey's
   order, "note the reversed order compared to AEC" in its DCN section).

Initialisation: Table 4 says "Random". With ``init="random"`` (the paper preset) the labels
are drawn uniformly from the run's generator and the first centers are the means of those
random groups in the pretrained embedding (the survey names both labels and centers as
randomly initialised; means of random groups is our way of making the two agree).
``init="kmeans"`` starts from the pipeline's k-means instead. A cluster that loses all its
samples keeps its previous center (the survey does not say).

Paper defaults (survey Appendix Table 4, MNIST): 50 clustering epochs, SGD, λ1 = 1,
λ2 = 0.1. Not given by the table (†) and chosen by us: the learning rate 0.01 with momentum
0.9 (DCN's and DEC's SGD settings). Table 4 lists the batch size as "X", which may mean full
batch; we use 256 like every other method here. The table's d-1000-250-50-10 network is an
autoencoder configuration upstream, not a parameter of this module. The final labels are
AEC's own: the assignment after the last epoch's update.

Data augmentation (survey Sec. 5.2, ``augment=True``, image data only): each batch also gets a
randomly shifted and rotated copy x^A (``deepclust.augment``, from the run's generator); the
loss is Eq. 21 with Eq. 20's ½(MSE(x, x̂) + MSE(x^A, x̂^A)) and Eq. 22's clustering term, which
pulls both z_i and z_i^A to the center μ_{y_i} of the original sample's label. Centers and
labels are updated from the original samples only.
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
    cluster_means,
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
class AECParams(Augmentation):
    lam: float = param(0.1, ge=0)  # λ2, weight of the clustering loss (Table 4, MNIST); λ1 = 1
    epochs: int = param(50, ge=1)  # clustering epochs ε2 (Table 4)
    batch_size: int = batch_size_param()  # Table 4 says "X" (full batch?); 256 is ours
    optimizer: str = optimizer_param("sgd")  # Table 4
    lr: float = lr_param(0.01)  # Table 4 gives none (†); ours
    momentum: float = momentum_param(0.9)  # not in Table 4; ours, as DCN's
    # Table 4: "Random"; "kmeans" uses the pipeline's k-means
    init: str = param("random", choices=("random", "kmeans"))


FAST = {"epochs": 30}  # the paper settings, fewer epochs
TINY = {"epochs": 4, "batch_size": 32}
PAPER = {"by_dataset": {"usps": {"lam": 0.6}}}  # Table 4: λ2 = 0.1 (MNIST), 0.6 (USPS)


def clustering_loss(z: torch.Tensor, assigned_centers: torch.Tensor) -> torch.Tensor:
    """Survey Eq. 8: (1/|B|) Σ_i ‖z_i − μ_{y_i}‖²."""
    return (z - assigned_centers).pow(2).sum(dim=1).mean()


def augmented_clustering_loss(
    z: torch.Tensor, z_aug: torch.Tensor, assigned_centers: torch.Tensor
) -> torch.Tensor:
    """Survey Eq. 22: 1/(2|B|) Σ_i (‖z_i − μ_{y_i}‖² + ‖z_i^A − μ_{y_i}‖²), y_i the original
    sample's label."""
    return 0.5 * (clustering_loss(z, assigned_centers) + clustering_loss(z_aug, assigned_centers))


def total_loss(reconstruction: torch.Tensor, clustering: torch.Tensor, lam: float) -> torch.Tensor:
    """Survey Eq. 7 with λ1 = 1 and λ2 = ``lam``."""
    return reconstruction + lam * clustering


@torch.no_grad()
def update_clusters(
    z: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """AEC's once-per-epoch update: centers ← means of the assigned z, then labels ← nearest."""
    new_centers = cluster_means(z, labels, centers)
    return nearest_center(z, new_centers), new_centers


def initial_labels(
    init: InitialClustering, n_clusters: int, n: int, how: str, generator: torch.Generator
) -> torch.Tensor:
    if how == "random":
        return torch.randint(n_clusters, (n,), generator=generator)
    if how == "kmeans":
        return torch.as_tensor(init.labels).clone()
    raise ValueError(f"algorithms.aec: unknown init '{how}'; known: random, kmeans")


@dataclass
class AECState(TrainingState):
    """What AEC's callbacks keep between steps: the hard assignments and their centres, both
    updated once per epoch."""

    labels: torch.Tensor
    centers: torch.Tensor


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: AECParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    augment = augmentation(ae, params, generator, "aec")
    k = len(init.centers)
    labels = initial_labels(init, k, len(X), params.init, generator).to(X.device)
    start_centers = torch.as_tensor(init.centers, dtype=X.dtype, device=X.device)
    state = AECState(labels, centers=cluster_means(embed(ae, X), labels, start_centers))
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
        loss = total_loss(rec, clust, params.lam)
        return {"loss": loss, "reconstruction": rec, "clustering": clust}

    def epoch_update() -> dict:
        new_labels, new_centers = update_clusters(embed(ae, X), state.labels, state.centers)
        delta, n_changed = fraction_changed(new_labels, state.labels)
        state.labels.copy_(new_labels)
        state.centers.copy_(new_centers)
        return {"delta_label": delta, "n_changed": n_changed}

    def before_step(step: int) -> dict | None:
        if step == 0 or step % steps_per_epoch:
            return None
        return epoch_update()

    objective = Objective(batch_loss=batch_loss, before_step=before_step, state=state)
    max_steps = params.epochs * steps_per_epoch
    history = train(
        objective,
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=max_steps,
        generator=generator,
        desc="aec",
        progress=progress,
        checkpointer=checkpointer,
    )
    # the loop calls before_step only before a step: the last epoch's update happens here
    history.append({"step": max_steps, "epoch": params.epochs, **epoch_update()})
    z = embed(ae, X)
    return refined_result(ae, z, state.labels, state.centers, history)


ALGORITHM = Algorithm(
    name="aec",
    family="alternating",
    params=AECParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY, "paper": PAPER},
    init="random",
)
