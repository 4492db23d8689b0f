"""DEN: Deep Embedding Network for clustering (Huang, Huang, Wang, Wang, ICPR 2014).

Sequential (survey, paper 000, Sec. 3.1.2, Eq. 4-6, Appendix Table 3). The autoencoder is
trained on

    L = L_rec + α L_g + β L_s                                                  (S Eq. 4)
    L_g = (1/|B|) Σ_i Σ_{j ∈ J(x_i)} ‖z_i − z_j‖² exp(−‖x_i − x_j‖² / t)       (S Eq. 5)
    L_s = (1/|B|) Σ_i Σ_{g=1..k} λ √n_g ‖z_i^g‖                                (S Eq. 6)

where J(x_i) are the J nearest neighbours of x_i in the input space (found once, on all data,
the sample itself excluded; z_j is the current embedding of that neighbour, which need not be
in the batch), and the m embedding features are split into k consecutive groups of n_g = m/k
features (the first m mod k groups get one more when k does not divide m). L_rec is S Eq. 2
as printed, (1/|B|) Σ_i ‖x_i − x̂_i‖², summed over the d features (Table 3: "L_rec is MSE
(Eq. 2)"), where every other method here averages over them: Table 3's α and β (up to 250)
are weights against that sum. With the per-feature mean instead (α and β d times stronger),
the group lasso shrank the digits embedding to nothing (measured in docs/results.md,
"Measurements behind the methods' readings").
Then k-means with 100 restarts (Table 3) on the trained embedding gives the labels. DEN does
not start from a clustering: the pipeline's k-means is not used.

Starting point: every method here fine-tunes the shared pretrained autoencoder; DEN's own
layer-wise initialisation (Table 3) is an autoencoder configuration upstream
(``pretraining: layerwise``). Table 3 gives α and β for its three datasets (COIL20: α 250,
β 0; YaleB: α 0.5, β 1; PIE: α 0, β 0) and † for J, t, λ, the optimiser and the epochs. Ours:
the defaults are YaleB's α and β (the only setting with both constraints on; ClustPy, the
survey authors' library, uses the same), COIL20's under ``preset: paper``; J = 2 and λ = 1 as
in ClustPy; t = the mean squared distance of a sample to its J neighbours when ``t`` is null
(ClustPy's t = 1 makes exp(−‖x_i − x_j‖²/t) vanish on pixel data, where neighbours are tens of
squared units apart); Adam, lr 0.001, batch 256, 100 epochs (ClustPy's training settings).
L_s grows linearly with the embedding, so β = 1 can still shrink a small embedding towards 0
(the weights of DEN's own paper may be on yet another scale): check α and β against your data.

New samples: encode them with the trained encoder and take the nearest k-means center (the
centers are saved); the survey's Sec. 3.1 caveat concerns N2D and DDC.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from sklearn.neighbors import NearestNeighbors

from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    draw_seed,
    refined_result,
)
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.params import batch_size_param, lr_param, momentum_param, optimizer_param, param
from deepclust.training import Checkpointer, Objective, make_optimizer, train


@dataclass(frozen=True)
class DENParams:
    # weight of L_g (Table 3: YaleB)
    alpha: float = param(0.5, ge=0, doc="weight of the locality constraint")
    # weight of L_s (Table 3: YaleB)
    beta: float = param(1.0, ge=0, doc="weight of the group-sparsity constraint")
    # J (Table 3: †; ClustPy's)
    n_neighbors: int = param(2, ge=1, doc="J, neighbours in the input space")
    # heat-kernel width; None = mean squared distance to the J neighbours
    t: float | None = param(
        None, gt=0, doc="heat-kernel width; null = mean squared distance to the J neighbours"
    )
    # λ of the group lasso (Table 3: †; ClustPy's)
    lam: float = param(1.0, ge=0, doc="λ of the group lasso")
    epochs: int = param(100, ge=1)  # Table 3: †; ClustPy's
    batch_size: int = batch_size_param()
    optimizer: str = optimizer_param("adam")
    lr: float = lr_param(0.001)
    momentum: float = momentum_param(0.9)  # SGD only
    kmeans_n_init: int = param(100, ge=1)  # Table 3


FAST = {"epochs": 20, "kmeans_n_init": 20}
TINY = {"epochs": 2, "batch_size": 32, "kmeans_n_init": 2}
COIL20 = {"alpha": 250.0, "beta": 0.0}  # Table 3
PAPER = {"by_dataset": {"coil20": COIL20, "coil20_32": COIL20, "coil20_128": COIL20}}


def group_sizes(m: int, k: int) -> list[int]:
    """n_g of the k groups of m features: m // k each, one more for the first m mod k."""
    if m < k:
        raise ValueError(
            f"algorithms.den: the embedding has {m} features, fewer than the {k} groups "
            "(one per cluster) of the group-sparsity constraint; use embedding_dim >= k"
        )
    return [m // k + (g < m % k) for g in range(k)]


def locality_loss(
    z: torch.Tensor, z_neighbors: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """S Eq. 5: (1/|B|) Σ_i Σ_j w_ij ‖z_i − z_j‖², with z_neighbors (B, J, m) and the heat
    kernel w_ij = exp(−‖x_i − x_j‖²/t) given as weights (B, J)."""
    return (weights * (z[:, None, :] - z_neighbors).pow(2).sum(dim=2)).sum(dim=1).mean()


def group_sparsity_loss(z: torch.Tensor, sizes: list[int], lam: float) -> torch.Tensor:
    """S Eq. 6: (1/|B|) Σ_i Σ_g λ √n_g ‖z_i^g‖, the groups being consecutive features."""
    norms = [
        torch.linalg.vector_norm(group, dim=1) * n_g**0.5
        for group, n_g in zip(torch.split(z, sizes, dim=1), sizes, strict=True)
    ]
    return lam * torch.stack(norms, dim=1).sum(dim=1).mean()


def neighbours(X: torch.Tensor, J: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (n, J) of each sample's J nearest neighbours in the input space (itself
    excluded) and their squared Euclidean distances."""
    if not 1 <= J < len(X):
        raise ValueError(f"algorithms.den: n_neighbors must be in [1, {len(X) - 1}], got {J}")
    nn = NearestNeighbors(n_neighbors=J).fit(X.cpu().numpy())
    dist, idx = nn.kneighbors()  # without X: each sample's neighbours other than itself
    return torch.as_tensor(idx, device=X.device), torch.as_tensor(dist**2, device=X.device)


def reconstruction_loss(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """S Eq. 2 as printed: (1/|B|) Σ_i ‖x_i − x̂_i‖², summed over the features."""
    return (x - x_hat).pow(2).sum(dim=1).mean()


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DENParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    k = len(init.centers)
    sizes = group_sizes(ae.embedding_dim, k)
    knn, dist2 = neighbours(X, params.n_neighbors)
    t = params.t if params.t is not None else float(dist2.mean())
    weights = torch.exp(-dist2 / t).to(X.dtype)
    optimizer = make_optimizer(ae.parameters(), params.optimizer, params.lr, params.momentum)
    batch_size = min(params.batch_size, len(X))
    steps_per_epoch = -(-len(X) // batch_size)

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        z = ae.encode(x)
        rec = reconstruction_loss(x, ae.decode(z))
        neighbours_of_batch = knn[idx]  # (B, J)
        z_nb = ae.encode(X[neighbours_of_batch.reshape(-1)]).view(len(x), -1, z.shape[1])
        local = locality_loss(z, z_nb, weights[idx])
        sparse = group_sparsity_loss(z, sizes, params.lam)
        loss = rec + params.alpha * local + params.beta * sparse
        return {"loss": loss, "reconstruction": rec, "locality": local, "sparsity": sparse}

    max_steps = params.epochs * steps_per_epoch
    history = train(
        Objective(batch_loss=batch_loss),
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=max_steps,
        generator=generator,
        desc="den",
        progress=progress,
        checkpointer=checkpointer,
    )
    z = embed(ae, X)
    km = kmeans_init(
        z.cpu().numpy(), k, n_init=params.kmeans_n_init, max_iter=300, seed=draw_seed(generator)
    )
    history.append(
        {"step": max_steps, "epoch": params.epochs, "t": t, "kmeans_inertia": km.inertia}
    )
    centers = torch.as_tensor(km.centers)
    return refined_result(ae, z, torch.as_tensor(km.labels), centers, history)


ALGORITHM = Algorithm(
    name="den",
    family="sequential",
    params=DENParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY, "paper": PAPER},
    init="none",
)
