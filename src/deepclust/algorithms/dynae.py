"""DynAE: Deep Clustering with a Dynamic Autoencoder (Mrabah, Khan, Ksantini, Lachiri; paper 003).

Starts from the given autoencoder and the k-means of its embedding (``init``). Use an
autoencoder pretrained with ACAI and augmentation (``pretraining: acai, augment: true``, see
``models/acai.py``), as the paper does (Sec. 3.1, Eq. 1-2); any other works too.

Centroids (Sec. 3.1.1, "the first nearest neighbor (1NN) of each embedded center"): each
k-means center is replaced by the embedding of the sample nearest to it, ẑ_j. These ẑ_j are
the centroids μ_j of the Student's t soft assignment q_ij (Eq. 9, α = 1), σ(x_i) = ẑ_{y_i}
with y_i = argmax_j q_ij, and the centroid images are their decodings g(ẑ_j).

Conflicted points (Eq. 5-8): x_i is unconflicted (B(c_i) = 1) when h_i(1) ≥ β1 and
h_i(1) − h_i(2) ≥ β2, h_i(1) and h_i(2) its largest and second largest q_ij, with β1 = κ/K
and β2 = β1/2 (Eq. 10). Per batch (Eq. 3-4, 12, 14):

    L = mean_i [ (1 − B_i) ‖x_i − x̂_i‖² + B_i ‖g(ẑ_{y_i}) − x̂_i‖² + B_i ‖z_i − ẑ_{y_i}‖² ]

(``reconstruction``, ``construction`` and ``embedded_clustering`` in the history): conflicted
points are reconstructed, unconflicted ones construct their centroid's image and are pulled to
their centroid's embedding. The encoder and decoder are trained (SGD); the centroids are not.

Dynamics (Algorithm 1): every ``update_interval`` steps the conflicted points of the whole
(untransformed) data are counted (``n_conflicted``, the paper's Figure 6). When the count has
not decreased since the last check the loss is "stable": fresh k-means on the current embedding
(its 1NN embeddings become the centroids) and β1 ← β1 − ∇κ/K, β2 ← β2 − ∇κ/K, κ ← ∇κ, with
∇κ = 0.3 κ. Training stops when fewer than ``tol`` of the points are conflicted, or after
``max_iter`` steps. The labels are argmax_j q_ij of the final embedding.

Where we read into the paper (and where the authors' code, wentropy/DynAE, differs):

- Eq. 13 prints S with h_i(2) − h_i(3) ≥ β2; we read it as Eq. 6's h_i(1) − h_i(2), the set
  "controlled by the same confidence hyperparameters β1 and β2" (text; the code uses one set).
- Eq. 8's h_i(2) is the second largest q_ij counting ties (Eq. 8's strict "<" would skip a
  tie and call the most ambiguous point unconflicted).
- σ(x_i) and μ_j are the 1NN embeddings ẑ_j, held fixed between centroid updates (Algorithm 1
  changes S only there; the code does the same). The centroid images g(ẑ_j) use the current
  decoder, θ_d(t) in Eq. 4, and are targets (no gradient: a "supervisory signal"); the code
  decodes them once per centroid update.
- Algorithm 1 checks the count at every iteration; we check every ``update_interval`` = 140
  steps, as the authors' code (a whole-data pass per step would cost ≈ N/256 steps each).
- β drop: Algorithm 1 subtracts ∇κ/K from both and sets κ ← ∇κ; we keep ∇κ = 0.3 κ for the new
  κ, so the drops are 0.09, 0.027, ... (K-free: ``kappa`` is κ/K) and β1, β2 stay in [0, 1] as
  Sec. 3.1.1 says (β2 → 0.021). The text's "dropped by ∇κ/κ" and Eq. 10's β1 = κ/K after
  κ ← ∇κ would instead scale them by 0.3; the code subtracts the first drop twice (β2 < 0).
- updateCentroids is a fresh k-means with ``kmeans_n_init`` = 10 restarts (the code's
  scikit-learn KMeans(n_init=10)), seeded from the run's generator.
- x is the transformed batch (Sec. 3.1.3): q, B_i, the input and the reconstruction target all
  come from it (the code computes q and the targets from the untransformed batch and applies
  L2 to conflicted points too, with their own embedding as target).
- Reductions as in the code: squared norms are means over features (Keras ``mse``; Eq. 3, 12
  write sums), averaged over the batch.

What we measured with it (it loses accuracy from the starts a CPU can train, and why) is in
docs/results.md, "Measurements behind the methods' readings".

Paper defaults (Sec. 4.3): SGD lr 0.001 momentum 0.9, batch 256, κ = 0.3 K, ∇κ = 0.3 κ,
tol 1 %, MaxIter 10⁵, α = 1, augmentation on (shift ±1, rotation ±10°; δ in pixels, see
``deepclust.augment``; the authors' code shifts by up to 10 % of the image).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans

from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    augmentation,
    refined_result,
)
from deepclust.algorithms.dec import FAST
from deepclust.losses import soft_assignment
from deepclust.models.autoencoder import Autoencoder, embed
from deepclust.params import (
    Augmentation,
    augment_param,
    batch_size_param,
    lr_param,
    momentum_param,
    optimizer_param,
    param,
)
from deepclust.training import Checkpointer, Objective, TrainingState, make_optimizer, train


@dataclass(frozen=True)
class DynAEParams(Augmentation):
    alpha: float = param(1.0, gt=0)  # Student's t (Sec. 4.3)
    # κ / K: κ = 0.3 K (Sec. 4.3), so β1 = 0.3, β2 = 0.15 (Eq. 10)
    kappa: float = param(0.3, gt=0, le=1)
    kappa_drop: float = param(0.3, ge=0, lt=1)  # ∇κ = 0.3 κ (Sec. 4.3)
    tol: float = param(0.01, ge=0)  # stop below 1 % conflicted points (Sec. 4.3)
    max_iter: int = param(100000, ge=1)  # MaxIter (Sec. 4.3)
    # steps between counts of conflicted points (authors' code)
    update_interval: int = param(140, ge=1)
    # restarts of each centroid update's k-means (authors' code)
    kmeans_n_init: int = param(10, ge=1)
    batch_size: int = batch_size_param()  # Sec. 4.3
    optimizer: str = optimizer_param("sgd")  # Sec. 4.3
    lr: float = lr_param(0.001)  # Sec. 4.3
    momentum: float = momentum_param(0.9)  # Sec. 4.3
    augment: bool = augment_param(True)  # Sec. 3.1.3 and 4.1 (image data only)


TINY = {"update_interval": 3, "max_iter": 15, "batch_size": 32, "augment": False}


def centroid_embeddings(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """ẑ_j: the embedding (row of ``z``) nearest to each center (Sec. 3.1.1, "1NN")."""
    return z[torch.cdist(centers, z).argmin(dim=1)]


def unconflicted(q: torch.Tensor, beta1: float, beta2: float) -> torch.Tensor:
    """B(c_i) of Eq. 5-6: h_i(1) ≥ β1 and h_i(1) − h_i(2) ≥ β2 (h: Eq. 7-8, ties counted)."""
    h = F.pad(q, (0, 1)).topk(2, dim=1).values  # a zero column: h_i(2) = 0 when K = 1
    return (h[:, 0] >= beta1) & (h[:, 0] - h[:, 1] >= beta2)


def drop_confidence(
    beta1: float, beta2: float, kappa: float, drop: float
) -> tuple[float, float, float]:
    """Algorithm 1's update when the loss is stable, in units of K (``kappa`` = κ/K):
    ∇κ = ``drop`` · κ, β1 ← β1 − ∇κ/K, β2 ← β2 − ∇κ/K, κ ← ∇κ. Returns (β1, β2, κ/K)."""
    delta = drop * kappa
    return beta1 - delta, beta2 - delta, delta


def dynamic_loss(
    x: torch.Tensor,
    z: torch.Tensor,
    x_hat: torch.Tensor,
    unconf: torch.Tensor,
    target_z: torch.Tensor,
    target_x: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Eq. 14 = L1 (Eq. 3-4) + L2 (Eq. 12) on a batch: ``target_z`` = σ(x_i) = ẑ_{y_i} and
    ``target_x`` = g(ẑ_{y_i}); each squared norm a mean over features, each term a batch mean."""
    b = unconf.to(x.dtype)
    reconstruction = ((x_hat - x).pow(2).mean(dim=1) * (1 - b)).mean()
    construction = ((x_hat - target_x).pow(2).mean(dim=1) * b).mean()
    clustering = ((z - target_z).pow(2).mean(dim=1) * b).mean()
    return {
        "loss": reconstruction + construction + clustering,
        "reconstruction": reconstruction,
        "construction": construction,
        "embedded_clustering": clustering,
    }


@dataclass
class DynAEState(TrainingState):
    """What DynAE's callbacks keep between updates (Algorithm 1): the centroid embeddings, the
    confidence thresholds β1, β2 and their step κ, and the previous count of conflicted points."""

    centers: torch.Tensor
    beta1: float
    beta2: float
    kappa: float
    n_conflicted: int


def fit(
    autoencoder: Autoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DynAEParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    augment = augmentation(ae, params, generator, "dynae")
    optimizer = make_optimizer(ae.parameters(), params.optimizer, params.lr, params.momentum)
    k = len(init.centers)
    initial = torch.as_tensor(init.centers, dtype=X.dtype, device=X.device)
    state = DynAEState(
        centers=centroid_embeddings(embed(ae, X), initial),
        beta1=params.kappa,  # Eq. 10
        beta2=params.kappa / 2,
        kappa=params.kappa,
        n_conflicted=len(X),  # Algorithm 1: nbConfPrev ← |X|
    )

    def update_centroids(z: torch.Tensor) -> torch.Tensor:
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator, device=generator.device))
        km = KMeans(k, n_init=params.kmeans_n_init, random_state=seed)
        km.fit(z.cpu().numpy().astype(np.float64))
        centers = torch.as_tensor(km.cluster_centers_, dtype=z.dtype, device=z.device)
        return centroid_embeddings(z, centers)

    def before_step(step: int) -> dict | None:
        if step % params.update_interval:
            return None
        z = embed(ae, X)
        q = soft_assignment(z, state.centers, params.alpha)
        n_conflicted = int((~unconflicted(q, state.beta1, state.beta2)).sum())
        stable = n_conflicted >= state.n_conflicted
        if stable:
            state.centers = update_centroids(z)
            state.beta1, state.beta2, state.kappa = drop_confidence(
                state.beta1, state.beta2, state.kappa, params.kappa_drop
            )
        state.n_conflicted = n_conflicted
        if n_conflicted / len(X) < params.tol:
            objective.stop = True
        return {
            "n_conflicted": n_conflicted,
            "conflicted_fraction": n_conflicted / len(X),
            "centroids_updated": int(stable),
            "beta1": state.beta1,  # the thresholds of the following steps
            "beta2": state.beta2,
        }

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        if augment is not None:
            x = augment(x)
        z = ae.encode(x)
        x_hat = ae.decode(z)
        centers = state.centers
        with torch.no_grad():
            q = soft_assignment(z, centers, params.alpha)
            unconf = unconflicted(q, state.beta1, state.beta2)
            labels = q.argmax(dim=1)
            images = ae.decode(centers)
        return dynamic_loss(x, z, x_hat, unconf, centers[labels], images[labels])

    objective = Objective(batch_loss=batch_loss, before_step=before_step, state=state)
    history = train(
        objective,
        X,
        optimizer,
        batch_size=min(params.batch_size, len(X)),
        max_steps=params.max_iter,
        generator=generator,
        desc="dynae",
        progress=progress,
        checkpointer=checkpointer,
    )
    z = embed(ae, X)
    labels = soft_assignment(z, state.centers, params.alpha).argmax(dim=1)
    return refined_result(ae, z, labels, state.centers, history)


ALGORITHM = Algorithm(
    name="dynae",
    family="alternating",
    params=DynAEParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
)
