"""DipEncoder (Leiber, Bauer, Neumayr, Plant, Böhm, KDD 2022: "The DipEncoder: Enforcing
Multimodality in Autoencoders").

Alternating (survey, paper 000, Sec. 3.2.4, Eq. 13, Appendix Table 4). Every pair of clusters
(a, b) has a learnable projection axis ρ_ab ∈ R^m. On each batch B, with Z̄ the projections
ρ_abᵀz of the batch's members of a, of b, or of both:

    L_clust = 2/(k(k−1)) Σ_{a<b} ½(dip(Z̄_a) + dip(Z̄_b)) − dip(Z̄_ab)                (S Eq. 13)

so that each cluster is unimodal and each pair bimodal along its axis. L = λ1 L_rec + L_clust
(λ2 = 1, Table 4), optimised by Adam over the network and the axes.

The dip statistic is Hartigan's, computed by the ``diptest`` package. Its gradient (Krause &
Liebscher 2005, the survey's [35]): the dip is attained at a "modal triangle" of three sorted
sample positions i1 < i2 < i3, where i1 and i3 are consecutive vertices of the greatest convex
minorant (GCM) or least concave majorant (LCM) of the empirical distribution function and i2
the point farthest from that segment. With r = (x_i2 − x_i1)/(x_i3 − x_i1),

    2n·dip = (i2 − i1 + 1) − (i3 − i1)·r   (GCM),    (i3 − i1)·r − (i2 − i1 − 1)   (LCM),

and for small moves that keep the sort order and the triangle, this is the dip. ``diptest``
returns the dip and i2 (``dipidx``); :func:`modal_triangle` finds the one (i1, i3, side) that
reproduces the returned dip exactly, and :func:`dip` evaluates the expression above on the
torch values, so that autograd gives ∂dip/∂x_i1, ∂dip/∂x_i2, ∂dip/∂x_i3 (all other samples: 0)
and, through x = ρᵀz, the gradients with respect to the axis and the encoder. Samples with
no triangle (fewer than 4 values, all equal, or the trivial dip 1/(2n)) get no gradient.

Label updates (survey: "by analyzing the boundaries of the identified modes on the projection
axes"), before each epoch and after the last, on all data: for each pair, each cluster's
members are projected on ρ_ab and their modal interval [x_l, x_u] (``diptest``) found; the
threshold is midway between the upper end of the left cluster's interval and the lower end of
the right one's (left/right by the intervals, or by their midpoints where they overlap); every
sample votes for the side it falls on, and takes the cluster with most votes.

Table 4: batch 25·k for clustering, Adam lr 0.0001, 100 clustering epochs (and 100 epochs of
pretraining with batch 256 and Adam 0.001, an autoencoder configuration upstream), k-means
start, λ1 "based on L_rec of the first batch". From ClustPy (the survey authors' library), as
the survey gives no more: λ1 = 1/(4 L_rec) of a batch under a freshly initialised copy of the
network (PyTorch's default initialisation, seeded from the run's generator); the initial axes
μ_a − μ_b of the k-means centers; pairs where a cluster has fewer than 10 samples in the batch
are skipped (still counted in 2/(k(k−1))). Differences from ClustPy: it scales the gradient by
4·dip (or 4·(¼ − dip) for the subtracted term) and, for the label update, uses the modal
interval of the mirrored dip test; here the gradient is the plain derivative of the dip and the
modal interval the ordinary one. The result's ``centers`` are the final clusters' means in
the embedding (the DipEncoder itself has none); ``state["axes"]`` holds the projection axes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import diptest
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    draw_seed,
    fraction_changed,
    refined_result,
)
from deepclust.models.autoencoder import FeedforwardAutoencoder, build, embed
from deepclust.params import lr_param, param
from deepclust.training import Checkpointer, LabelState, Objective, train


@dataclass(frozen=True)
class DipEncoderParams:
    # clustering epochs (Table 4)
    epochs: int = param(100, ge=1, doc="clustering epochs (DipEncoder: 100)")
    # clustering batch 25·k (Table 4)
    batch_per_cluster: int = param(25, ge=1, doc="batch = this · k (25)")
    lr: float = lr_param(0.0001, doc="Adam learning rate (0.0001)")  # Adam (Table 4)
    # λ1; None = 1/(4 L_rec of a fresh network)
    reconstruction_weight: float | None = param(
        None, ge=0, doc="λ1; null = 1/(4 L_rec) of a batch under a freshly initialised network"
    )
    # fewest samples of a cluster in a batch for its pairs (ClustPy)
    min_points: int = param(
        10, ge=4, doc="fewest samples of a cluster in a batch for its pairs to count"
    )


FAST = {"epochs": 20}
TINY = {"epochs": 2, "batch_per_cluster": 15, "min_points": 4}


def modal_triangle(x: np.ndarray) -> tuple[float, tuple[int, int, int] | None, int]:
    """The dip of the sorted sample ``x`` (``diptest``) and its modal triangle (i1, i2, i3)
    with side +1 (GCM) or −1 (LCM); (dip, None, 0) where there is no triangle."""
    n = len(x)
    value, info = diptest.dipstat(x, full_output=True, sort_x=False)
    j = int(info["dipidx"])
    if n < 4 or not 0 < j < n - 1 or x[0] == x[-1]:
        return float(value), None, 0
    i1 = np.arange(j)[:, None]
    i3 = np.arange(j + 1, n)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (x[j] - x[i1]) / (x[i3] - x[i1])
        t = np.stack([(j - i1 + 1) - (i3 - i1) * r, (i3 - i1) * r - (j - i1 - 1)])
    error = np.abs(t - 2 * n * value)
    error[~np.isfinite(error)] = np.inf
    side, a, b = np.unravel_index(np.argmin(error), error.shape)
    if error[side, a, b] > 1e-9 * 2 * n:
        return float(value), None, 0  # the trivial dip 1/(2n): no triangle
    return float(value), (int(a), j, int(j + 1 + b)), 1 if side == 0 else -1


def dip(x: torch.Tensor) -> torch.Tensor:
    """Hartigan's dip of the 1-D sample ``x``, differentiable through its modal triangle."""
    order = torch.argsort(x.detach())
    xs = x[order]
    value, triangle, side = modal_triangle(xs.detach().cpu().double().numpy())
    if triangle is None:
        return x.new_tensor(value)
    i1, i2, i3 = triangle
    r = (xs[i2] - xs[i1]) / (xs[i3] - xs[i1])
    t = (i2 - i1 + 1) - (i3 - i1) * r if side > 0 else (i3 - i1) * r - (i2 - i1 - 1)
    return t / (2 * len(x))


def pair_loss(z_a: torch.Tensor, z_b: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """One term of S Eq. 13: ½(dip(Z̄_a) + dip(Z̄_b)) − dip(Z̄_ab) on the axis ρ_ab."""
    p_a, p_b = z_a @ axis, z_b @ axis
    return 0.5 * (dip(p_a) + dip(p_b)) - dip(torch.cat([p_a, p_b]))


def pairs(k: int) -> list[tuple[int, int]]:
    """The cluster pairs a < b, in the order of the rows of the axes matrix."""
    return [(a, b) for a in range(k) for b in range(a + 1, k)]


def clustering_loss(
    z: torch.Tensor, labels: torch.Tensor, axes: torch.Tensor, k: int, min_points: int
) -> torch.Tensor:
    """S Eq. 13 over the batch: the mean of :func:`pair_loss` over all k(k−1)/2 pairs, pairs
    with a cluster of fewer than ``min_points`` samples in the batch counting 0."""
    members = [torch.nonzero(labels == c).flatten() for c in range(k)]
    total = z.new_zeros(())
    for row, (a, b) in enumerate(pairs(k)):
        if len(members[a]) >= min_points and len(members[b]) >= min_points:
            total = total + pair_loss(z[members[a]], z[members[b]], axes[row])
    return total / len(pairs(k))


def modal_interval(x: np.ndarray) -> tuple[float, float]:
    """The modal interval [x_l, x_u] of the dip test of the sample ``x``."""
    _, info = diptest.dipstat(x, full_output=True)
    return float(info["xl"]), float(info["xu"])


@torch.no_grad()
def update_labels(
    z: torch.Tensor, labels: torch.Tensor, axes: torch.Tensor, k: int
) -> torch.Tensor:
    """The dip-based label update (module docstring): votes of every pair's threshold."""
    votes = torch.zeros(len(z), k, dtype=torch.long)
    projections = (z @ axes.T).cpu().double().numpy()
    for row, (a, b) in enumerate(pairs(k)):
        p_a = projections[(labels == a).cpu().numpy(), row]
        p_b = projections[(labels == b).cpu().numpy(), row]
        if len(p_a) < 4 or len(p_b) < 4:
            continue
        (lo_a, hi_a), (lo_b, hi_b) = modal_interval(p_a), modal_interval(p_b)
        a_right = lo_a > hi_b or (not lo_b > hi_a and lo_a + hi_a > lo_b + hi_b)
        left, right = (b, a) if a_right else (a, b)
        lo_right, hi_left = (lo_a, hi_b) if a_right else (lo_b, hi_a)
        on_left = torch.as_tensor(projections[:, row] <= (lo_right + hi_left) / 2)
        votes[on_left, left] += 1
        votes[~on_left, right] += 1
    return votes.argmax(dim=1).to(labels.device)


def reconstruction_weight(
    ae: FeedforwardAutoencoder, X: torch.Tensor, batch_size: int, generator: torch.Generator
) -> float:
    """λ1 = 1/(4 L_rec) of a random batch under a freshly initialised copy of ``ae``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(draw_seed(generator))
        fresh = build(ae.arch).to(X.device)
    batch = X[torch.randperm(len(X), generator=generator)[:batch_size].to(X.device)]
    with torch.no_grad():
        return 1.0 / (4.0 * float(F.mse_loss(fresh(batch), batch)))


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DipEncoderParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    k = len(init.centers)
    batch_size = min(params.batch_per_cluster * k, len(X))
    lam = params.reconstruction_weight
    if lam is None:
        lam = reconstruction_weight(ae, X, batch_size, generator)
    centers = torch.as_tensor(init.centers, dtype=X.dtype, device=X.device)
    axes = nn.Parameter(torch.stack([centers[a] - centers[b] for a, b in pairs(k)]))
    optimizer = torch.optim.Adam([*ae.parameters(), axes], lr=params.lr, fused=True)
    state = LabelState(torch.as_tensor(init.labels, device=X.device).clone())
    steps_per_epoch = -(-len(X) // batch_size)

    def relabel() -> dict:
        new = update_labels(embed(ae, X), state.labels, axes.detach(), k)
        delta, n_changed = fraction_changed(new, state.labels)
        state.labels = new
        return {"delta_label": delta, "n_changed": n_changed}

    def before_step(step: int) -> dict | None:
        return None if step % steps_per_epoch else relabel()

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        z = ae.encode(x)
        rec = F.mse_loss(ae.decode(z), x)
        clust = clustering_loss(z, state.labels[idx], axes, k, params.min_points)
        return {"loss": lam * rec + clust, "reconstruction": rec, "clustering": clust}

    objective = Objective(batch_loss=batch_loss, before_step=before_step, state=state)
    max_steps = params.epochs * steps_per_epoch
    history = train(
        objective,
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=max_steps,
        generator=generator,
        desc="dipencoder",
        progress=progress,
        checkpointer=checkpointer,
    )
    history.append({"step": max_steps, "reconstruction_weight": lam, **relabel()})
    z = embed(ae, X)
    labels = state.labels
    means = torch.stack(
        [z[labels == c].mean(dim=0) if (labels == c).any() else centers[c] for c in range(k)]
    )
    return refined_result(ae, z, labels, means, history, axes=axes.detach().cpu())


ALGORITHM = Algorithm(
    name="dipencoder",
    family="alternating",
    params=DipEncoderParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
)
