"""ACe/DeC applied to DCN (Miklautz, Bauer, Mautz, Tschiatschek, Böhm, Plant, IJCAI 2021:
"Details (Don't) Matter: Isolating Cluster Information in Deep Embedded Spaces").

Alternating (survey, paper 000, Sec. 3.2.3, Eq. 11-12, Appendix Table 4). A learnable m × m
matrix V rotates the embedding, y = Vᵀz (rows: y = zV), and two learnable feature weightings
split it into a cluster space and a shared space:

    ‖a − b‖²_β = Σ_j β[j]² (a[j] − b[j])²                                       (S Eq. 12)
    L_clust = (1/|B|) Σ_i ‖y_i − Vᵀμ_{h(i)}‖²_{β_ci} + ‖y_i − Vᵀμ_B‖²_{β_si}      (S Eq. 11)

with (β_ci[j], β_si[j]) = softmax over the two spaces of learnable logits, so each feature's
two weights sum to 1. Scale: the survey's Eq. 11-12 sum over features, as its Eq. 2 sums
L_rec; here L_rec is the per-feature mean (as ClustPy's ``enrc.py``, the authors' code, has
it: ``MSELoss``) and L_clust enters the loss divided by 2m, the mean over the m features
averaged over the two spaces. Deviation: that code divides L_clust by 2 only (read at commit
6de210e), a clustering term m times stronger than ours; with this file's centers' step and
re-initialisation, its scale ended lower on all six `fast` runs tried (digits 67.6, 81.8,
74.7 % against 76.7, 82.6, 79.7 %; MNIST-test 53.8, 64.9, 57.3 % against 63.1, 72.6, 61.3 %),
and 2m times ours emptied clusters on digits (docs/results.md, "Measurements behind the
methods' readings").
The centers are kept in the rotated space (Vᵀμ is stored directly, as in the authors' code).
The reconstruction goes through V and back, x̂ = dec(V Vᵀ z) ("extended MSE including V",
Table 4), and L = L_rec + L_clust: λ1 = λ2 = 1, no weight to tune (Table 4).

Per batch: each sample is assigned to its nearest center in ‖·‖_{β_ci} (held fixed through
the step), the network, V and the β logits take an Adam step, then the centers move by the
authors' mini-batch k-means step (ClustPy's ``acedec_update_center``, center_lr 0.5): for a
cluster j that received m_j samples, c_j ← ½ m_j + ½ c_j and μ_j ← μ_j + (mean of its
samples − μ_j) / (1 + c_j). c_j is a moving average of the batch counts, so a center keeps
following the embedding; with Sculley's running total (the survey's [68], μ_j moving by
m_j / Σ m_j) the centers froze while the embedding moved, and on MNIST-test 6 of 10 clusters
emptied (measured in docs/results.md). The shared center follows μ_B ← α mean(y_B) +
(1 − α) μ_B with α = 0.5 (S Sec. 3.2.3). Labels: nearest center in ‖·‖_{β_ci} on the final
embedding.

A center that has got no sample in more than ⌊√i⌋ batches in a row by iteration i is
re-initialised, as ClustPy's ACeDeC always does (``reinit_centers``, split "random"): it moves
to the rotated embedding of a random one of 512 random samples, then all centers take 10 Lloyd
steps on those 512 in ‖·‖_{β_ci} and the counts c_j become the samples each holds. Without it a
center the embedding has moved away from stays empty for good: on USPS (seed 0, ``reinit_empty:
false``) 2 of 10 clusters were empty and ACC had fallen from the start's 71.0 % to 52.4 % at
iteration 30,000 (docs/results.md). Deviations from that code: the empty batches are counted in
a row, where ClustPy adds them up over the run (reset only by a re-initialisation), so that an
epoch's short last batch, which cannot hold every cluster, does not add up to
re-initialisations: on digits (1,797 samples, batch 256, a last batch of 5) ClustPy's count
re-initialised centers 58 times in 3,000 iterations (seed 0) and cost 14 and 20 points of ACC
on two of three seeds (docs/results.md). Plain Lloyd steps (ClustPy's sums accumulate over its
10 steps, so its counts are about 10× ours, a difference the counts' halving per batch removes
within a few batches), no 1e-4 jitter of the new center, and an empty cluster's center is left
in place between re-initialisations (ClustPy's update divides by m_j + 1e-8 and so pulls it
towards the origin).

Table 4: batch 256, Adam lr 0.001 with β = (0.9, 0.99), halved every 20,000 iterations,
100,000 clustering iterations, k-means start. Ours (the survey gives no detail, the paper is
not available here): V starts as the identity and the counts c_j at 0; the β
logits start at −log of each feature's mean within-cluster and shared squared deviation
under the start's clustering, which makes β_ci[j] = b_j / (a_j + b_j) (a: within-cluster,
b: around the mean), the minimiser of Eq. 11 for fixed assignments (ClustPy's "optimal beta"
for two subspaces; ACe/DeC itself starts from NrKMeans). The result's ``embedding`` is the
rotated y = zV, the space of ``centers``.

ACe/DeC on AEC (``base="aec"``; the survey: "can be used with deep centroid-based clustering
algorithms, like AEC or DCN"): the same loss, but the clusters move as AEC's do (S Sec. 3.2.1)
instead of per batch: labels and centers are held fixed through an epoch; after it, on the
whole rotated embedding, the centers become the means of their samples (an empty cluster keeps
its center), then each sample goes to its nearest center in ‖·‖_{β_ci}, and the shared center
becomes the mean of all samples (μ_B over the whole data set, AEC's "batch" being the epoch).
It starts from the pipeline's k-means, not AEC's random labels: the split needs clusters to
weigh features by.
It needs a pretrained start: on an untrained autoencoder the reconstruction moves the
embedding faster than the centers follow, and all points end in one cluster (seen on the
tests' blobs).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    cluster_means,
    fraction_changed,
    refined_result,
)
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.params import batch_size_param, lr_param, param
from deepclust.training import Checkpointer, Objective, TrainingState, train


@dataclass(frozen=True)
class ACeDeCParams:
    # clustering iterations (Table 4)
    max_iter: int = param(100000, ge=1, doc="clustering iterations (100,000)")
    batch_size: int = batch_size_param()  # Table 4
    lr: float = lr_param(0.001, doc="Adam learning rate")  # Adam (Table 4)
    adam_beta2: float = param(0.99, gt=0, lt=1)  # Table 4
    # lr / 2 every 20,000 iterations (Table 4)
    lr_halving_steps: int = param(20000, ge=1, doc="iterations between lr halvings")
    # α of the moving average of μ_B (S Sec. 3.2.3)
    shared_center_rate: float = param(
        0.5, gt=0, le=1, doc="α of the shared center's moving average (ACe/DeC: 0.5)"
    )
    base: str = param(
        "dcn",
        choices=("dcn", "aec"),
        doc="the centroid method wrapped: DCN's per-batch or AEC's per-epoch cluster updates",
    )
    reinit_empty: bool = param(
        True, doc="re-initialise a center left without samples, as ClustPy's ACeDeC (base dcn)"
    )


FAST = {"max_iter": 3000, "lr_halving_steps": 1000}
TINY = {"max_iter": 9, "batch_size": 32}


def weighted_sq_distance(a: torch.Tensor, b: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """S Eq. 12 for every pair of rows: (|a|, |b|) matrix of Σ_j β[j]² (a[j] − b[j])²."""
    return ((a[:, None, :] - b[None, :, :]) * beta).pow(2).sum(dim=2)


def clustering_loss(
    y: torch.Tensor,
    assigned_centers: torch.Tensor,
    shared_center: torch.Tensor,
    betas: torch.Tensor,
) -> torch.Tensor:
    """S Eq. 11: (1/|B|) Σ_i ‖y_i − μ_{h(i)}‖²_{β_ci} + ‖y_i − μ_B‖²_{β_si}, with betas (2, m)
    the (cluster, shared) weights and the centers already in the rotated space."""
    cluster = ((y - assigned_centers) * betas[0]).pow(2).sum(dim=1)
    shared = ((y - shared_center) * betas[1]).pow(2).sum(dim=1)
    return (cluster + shared).mean()


def initial_beta_logits(y: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor):
    """Logits (2, m) whose softmax gives β_ci[j] = b_j / (a_j + b_j), a_j and b_j the mean
    squared deviation of feature j from the assigned centers and from the mean."""
    a = (y - centers[labels]).pow(2).mean(dim=0)
    b = (y - y.mean(dim=0)).pow(2).mean(dim=0)
    eps = torch.finfo(y.dtype).tiny
    return -torch.log(torch.stack([a, b]) + eps)


@torch.no_grad()
def minibatch_kmeans_update(
    centers: torch.Tensor,
    counts: torch.Tensor,
    y: torch.Tensor,
    labels: torch.Tensor,
    rate: float = 0.5,
) -> None:
    """The authors' update, in place, for each cluster j with m_j > 0 samples in the batch:
    c_j ← rate·m_j + (1 − rate)·c_j, then μ_j ← μ_j + (mean_j − μ_j) / (1 + c_j); the other
    clusters keep their center and count."""
    k = len(centers)
    m = torch.bincount(labels, minlength=k).to(centers.dtype)
    sums = torch.zeros_like(centers).index_add_(0, labels, y)
    hit = m > 0
    counts[hit] = rate * m[hit] + (1 - rate) * counts[hit]
    means = sums[hit] / m[hit][:, None]
    centers[hit] += (means - centers[hit]) / (1 + counts[hit])[:, None]


REINIT_SAMPLES = 512  # ClustPy's reinit_centers: n_samples
REINIT_KMEANS_STEPS = 10  # and kmeans_steps


def lonely_threshold(iteration: int) -> int:
    """How many batches in a row without a sample a center may have had at 0-based
    ``iteration`` before it is re-initialised: ⌊√iteration⌋, at least 1 (ClustPy's
    ``reinit_threshold``)."""
    return max(1, math.isqrt(iteration))


def count_lonely(lonely: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per center, the batches in a row it got no sample in, after a batch with ``labels``."""
    hits = torch.bincount(labels, minlength=len(lonely))
    return torch.where(hits == 0, lonely + 1, 0)


@torch.no_grad()
def reinitialise_center(
    j: int,
    y: torch.Tensor,
    centers: torch.Tensor,
    counts: torch.Tensor,
    beta_ci: torch.Tensor,
    generator: torch.Generator,
    lloyd_steps: int = REINIT_KMEANS_STEPS,
) -> None:
    """In place: center j ← a random row of ``y`` (the rotated embedding of a sample), then
    ``lloyd_steps`` Lloyd steps of all centers on ``y`` in ‖·‖_{β_ci} (a center without rows
    keeps its place); each count c ← the number of rows its center holds."""
    row = torch.randint(len(y), (1,), generator=generator, device=generator.device)
    centers[j] = y[row.to(y.device)]
    for _ in range(lloyd_steps):
        labels = weighted_sq_distance(y, centers, beta_ci).argmin(dim=1)
        centers.copy_(cluster_means(y, labels, centers))
    counts.copy_(torch.bincount(labels, minlength=len(centers)).to(counts.dtype))


@torch.no_grad()
def aec_epoch_update(
    y: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor, beta_ci: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """AEC's once-per-epoch update in the rotated space: centers ← means of their assigned y,
    then labels ← the nearest center in ‖·‖_{β_ci} (S Eq. 12)."""
    new_centers = cluster_means(y, labels, centers)
    return weighted_sq_distance(y, new_centers, beta_ci).argmin(dim=1), new_centers


@dataclass
class ACeDeCState(TrainingState):
    """What ACeDeC's callbacks keep between steps: the mini-batch k-means centres and counts in
    the rotated space, the shared (noise-space) centre, the batch's labels (between the loss and
    the update after the step), the labels of the last epoch (with ``base="aec"`` the labels
    the epoch trains with), the LR schedule (whose count of steps is the iteration) and per
    center the batches in a row it got no sample in."""

    centers: torch.Tensor
    counts: torch.Tensor
    shared_center: torch.Tensor
    batch_labels: torch.Tensor
    previous_labels: torch.Tensor
    scheduler: torch.optim.lr_scheduler.LRScheduler
    lonely: torch.Tensor


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: ACeDeCParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    m = ae.embedding_dim
    V = nn.Parameter(torch.eye(m, dtype=X.dtype, device=X.device))
    z0 = embed(ae, X)
    start_labels = torch.as_tensor(init.labels, device=X.device)
    centers = torch.as_tensor(init.centers, dtype=X.dtype, device=X.device).clone()  # V = I
    logits = nn.Parameter(initial_beta_logits(z0, start_labels, centers))
    optimizer = torch.optim.Adam(
        [*ae.parameters(), V, logits], lr=params.lr, betas=(0.9, params.adam_beta2), fused=True
    )
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, params.lr_halving_steps, gamma=0.5)
    state = ACeDeCState(
        centers=centers,
        counts=torch.zeros(len(centers), dtype=X.dtype, device=X.device),
        shared_center=z0.mean(dim=0),
        batch_labels=torch.empty(0, dtype=torch.long, device=X.device),
        previous_labels=start_labels.clone(),
        scheduler=scheduler,
        lonely=torch.zeros(len(centers), dtype=torch.long, device=X.device),
    )
    batch_size = min(params.batch_size, len(X))
    steps_per_epoch = -(-len(X) // batch_size)

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        z = ae.encode(x)
        y = z @ V
        rec = F.mse_loss(ae.decode(y @ V.T), x)
        betas = torch.softmax(logits, dim=0)
        if params.base == "aec":
            labels = state.previous_labels[idx]
        else:
            with torch.no_grad():
                labels = weighted_sq_distance(y, state.centers, betas[0]).argmin(dim=1)
        state.batch_labels = labels
        clust = clustering_loss(y, state.centers[labels], state.shared_center, betas)
        return {"loss": rec + clust / (2 * m), "reconstruction": rec, "clustering": clust}

    def after_step(x: torch.Tensor, idx: torch.Tensor) -> None:
        state.scheduler.step()
        if params.base == "aec":
            return
        with torch.no_grad():
            y = ae.encode(x) @ V
        minibatch_kmeans_update(state.centers, state.counts, y, state.batch_labels)
        rate = params.shared_center_rate
        state.shared_center = rate * y.mean(dim=0) + (1 - rate) * state.shared_center
        if params.reinit_empty:
            reinitialise_lonely_centers()

    def reinitialise_lonely_centers() -> None:
        state.lonely = count_lonely(state.lonely, state.batch_labels)
        iteration = state.scheduler.last_epoch - 1  # stepped once per iteration, just before
        for j in (state.lonely > lonely_threshold(iteration)).nonzero().flatten().tolist():
            sample = torch.randperm(len(X), generator=generator, device=generator.device)
            x = X[sample[:REINIT_SAMPLES].to(X.device)]
            with torch.no_grad():
                y = embed(ae, x) @ V
                beta_ci = torch.softmax(logits, dim=0)[0]
            reinitialise_center(j, y, state.centers, state.counts, beta_ci, generator)
            state.lonely[j] = 0

    def end_of_epoch_labels() -> torch.Tensor:
        """The labels on the whole embedding; with ``base="aec"`` after AEC's update of the
        centers and μ_B, which happens here, once per epoch."""
        y = embed(ae, X) @ V.detach()
        beta_ci = torch.softmax(logits.detach(), dim=0)[0]
        if params.base == "aec":
            labels, state.centers = aec_epoch_update(
                y, state.previous_labels, state.centers, beta_ci
            )
            state.shared_center = y.mean(dim=0)
            return labels
        return weighted_sq_distance(y, state.centers, beta_ci).argmin(dim=1)

    def before_step(step: int) -> dict | None:
        if step == 0 or step % steps_per_epoch:
            return None
        labels = end_of_epoch_labels()
        delta, n_changed = fraction_changed(labels, state.previous_labels)
        state.previous_labels = labels
        return {"delta_label": delta, "n_changed": n_changed}

    objective = Objective(
        batch_loss=batch_loss, before_step=before_step, after_step=after_step, state=state
    )
    history = train(
        objective,
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=params.max_iter,
        generator=generator,
        desc="acedec",
        progress=progress,
        checkpointer=checkpointer,
    )
    labels = end_of_epoch_labels()  # with base="aec", the last epoch's update (as AEC's)
    y = (embed(ae, X) @ V).detach()
    betas = torch.softmax(logits.detach(), dim=0)
    return refined_result(
        ae,
        y,
        labels,
        state.centers,
        history,
        rotation=V.detach().cpu(),
        betas=betas.cpu(),
        shared_center=state.shared_center.cpu(),
    )


ALGORITHM = Algorithm(
    name="acedec",
    family="alternating",
    params=ACeDeCParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
)
