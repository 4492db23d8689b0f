"""DKM: Deep k-Means (Moradi Fard, Thonet, Gaussier, Pattern Recognition Letters 2020).

Simultaneous (survey, paper 000, Sec. 3.3.4, Eq. 17-19). k-means made differentiable: the
hard indicator of Eq. 17 is replaced by a softmax over negative squared distances,
G_j(z_i) = exp(−α‖z_i − μ_j‖²) / Σ_j' exp(−α‖z_i − μ_j'‖²) (Eq. 18), and

    L = L_rec + λ · (1/|B|) Σ_i Σ_j ‖z_i − μ_j‖² G_j(z_i)          (Eq. 19 with λ1 = 1)

is minimised by Adam over the encoder, the decoder and the centers μ (learnable parameters)
together; the gradient flows through G as well. Reductions follow the authors' code
(``compgraph.py`` of MaziarMF/deep-k-means): both the reconstruction ‖x − x̂‖² and the
distances are *summed* over features / embedding dimensions and *averaged* over the batch.
Note that L_rec here is therefore d times our pretraining MSE (mean over features); λ = 1
means what it means in the authors' code.

α: either a constant (version 1, α = 1000) or annealed (version 2). The survey's Table 5
prints α_{i+1} = α_i 2^{−log(i)²}, which would *decrease* α and contradicts its own text
("α ≈ 0 in the beginning ... which is increased"); the authors' code has
``alphas[i] = 2 ** (1 / np.log(i + 1) ** 2) * alphas[i - 1]`` for i = 1, 2, ... with
α_1 = 0.1, i.e. α_{n+1} = 2^{1/ln(n+1)²} α_n (natural log; the shift by one avoids the
division by ln(1) = 0 of the paper's α_{n+1} = 2^{1/log(n)²} α_n). We implement the code's
schedule. Each α value is used for ``epochs_per_alpha`` = 5 epochs: 20 values (100 epochs)
for the constant version, 40 values (200 epochs) when annealing, as in the code and Table 5.

Paper defaults (survey Appendix Table 5, MNIST): batch 256, Adam lr 0.001, k-means
initialisation of μ, λ = 1 with constant α (version 1, the ``paper`` preset); λ = 0.1 with
annealing (version 2, the ``annealing`` preset). Deviations: in the authors' code the
annealing version runs *without* pretraining (0 pretraining epochs, Table 5) and with random
centers; here every method starts from the shared pretrained autoencoder and its k-means, so
the annealing preset starts from both. The paper's d-500-500-2000-k network (embedding size
k) is an autoencoder configuration upstream. The final labels are DKM's own:
argmax_j G_j = the nearest center in the final embedding.

Data augmentation (survey Sec. 5.2, ``augment=True``, image data only): each batch also gets a
randomly shifted and rotated copy x^A (``deepclust.augment``, from the run's generator). As the
survey says (after Eq. 25), G_j is computed from x_i and x_i^A enters only the squared
distances; averaging the two as in Eq. 22 and 24 is our reading:
L_clust^A = 1/(2|B|) Σ_i Σ_j (‖z_i − μ_j‖² + ‖z_i^A − μ_j‖²) G_j(z_i), with the gradient
through G_j(z_i) kept as in Eq. 19. The reconstruction is Eq. 20's mean of DKM's ‖x − x̂‖² and
‖x^A − x̂^A‖² (Eq. 21).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from deepclust import losses
from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    augmentation,
    fraction_changed,
    nearest_center,
    refined_result,
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
class DKMParams(Augmentation):
    lam: float = param(1.0, ge=0)  # λ (Table 5, version 1, MNIST/USPS; the code's default)
    alpha: float = param(1000.0, gt=0)  # constant α (Table 5, version 1)
    annealing: bool = param(False)  # version 2: anneal α from alpha_start (Table 5)
    alpha_start: float = param(0.1, gt=0)  # α_1 of the annealing schedule (Table 5)
    n_alphas: int = param(20, ge=1)  # α values: 20 constant, 40 annealing (authors' code max_n)
    epochs_per_alpha: int = param(5, ge=1)  # epochs per α value (authors' code f_epochs)
    batch_size: int = batch_size_param()  # Table 5
    optimizer: str = optimizer_param("adam")  # Table 5
    lr: float = lr_param(0.001)  # Table 5
    momentum: float = momentum_param(0.0)  # unused by Adam


FAST = {"n_alphas": 8, "epochs_per_alpha": 5}
TINY = {"annealing": True, "n_alphas": 3, "epochs_per_alpha": 2, "batch_size": 32}
# Table 5: λ per dataset, for the defaults (version 1, constant α) and for version 2
PAPER = {"by_dataset": {"20news": {"lam": 0.1}, "rcv1_10k": {"lam": 0.01}}}
ANNEALING = {  # version 2; λ 0.1 on MNIST and USPS
    "annealing": True,
    "n_alphas": 40,
    "lam": 0.1,
    "by_dataset": {"20news": {"lam": 0.0001}, "rcv1_10k": {"lam": 0.0001}},
}


def alpha_schedule(params: DKMParams) -> list[float]:
    """The α values in order: constant, or α_1 = alpha_start, α_{n+1} = 2^{1/ln(n+1)²} α_n."""
    if not params.annealing:
        return [params.alpha] * params.n_alphas
    alphas = [params.alpha_start]
    for n in range(1, params.n_alphas):
        alphas.append(alphas[-1] * 2 ** (1 / math.log(n + 1) ** 2))
    return alphas


def soft_assignment(z: torch.Tensor, centers: torch.Tensor, alpha: float) -> torch.Tensor:
    """Survey Eq. 18: G_j(z_i) = softmax_j(−α ‖z_i − μ_j‖²)."""
    return torch.softmax(-alpha * squared_distances(z, centers), dim=1)


def squared_distances(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """‖z_i − μ_j‖² for every pair, shape (n, k); exact (no cdist shortcuts), so μ gets a
    gradient even where z_i = μ_j."""
    return (z[:, None, :] - centers[None, :, :]).pow(2).sum(dim=2)


def clustering_loss(z: torch.Tensor, centers: torch.Tensor, alpha: float) -> torch.Tensor:
    """Survey Eq. 19: (1/|B|) Σ_i Σ_j ‖z_i − μ_j‖² G_j(z_i)."""
    dist2 = squared_distances(z, centers)
    return (dist2 * torch.softmax(-alpha * dist2, dim=1)).sum(dim=1).mean()


def augmented_clustering_loss(
    z: torch.Tensor, z_aug: torch.Tensor, centers: torch.Tensor, alpha: float
) -> torch.Tensor:
    """1/(2|B|) Σ_i Σ_j (‖z_i − μ_j‖² + ‖z_i^A − μ_j‖²) G_j(z_i): G from the original samples
    only (survey Sec. 5.2)."""
    dist2 = squared_distances(z, centers)
    g = torch.softmax(-alpha * dist2, dim=1)
    return 0.5 * ((dist2 + squared_distances(z_aug, centers)) * g).sum(dim=1).mean()


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """‖x − x̂‖² summed over features, averaged over the batch (authors' ``g_func``)."""
    return (x - x_hat).pow(2).sum(dim=1).mean()


def total_loss(reconstruction: torch.Tensor, clustering: torch.Tensor, lam: float) -> torch.Tensor:
    return reconstruction + lam * clustering


@dataclass
class DKMState(TrainingState):
    """What DKM's callbacks keep between steps: the current α of the annealing schedule and the
    hard labels of its last change (for ``delta_label``)."""

    alpha: float
    labels: torch.Tensor


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DKMParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    augment = augmentation(ae, params, generator, "dkm")
    centers = nn.Parameter(torch.as_tensor(init.centers, dtype=X.dtype, device=X.device).clone())
    optimizer = make_optimizer(
        [*ae.parameters(), centers], params.optimizer, params.lr, params.momentum
    )
    alphas = alpha_schedule(params)
    batch_size = min(params.batch_size, len(X))
    steps_per_alpha = params.epochs_per_alpha * -(-len(X) // batch_size)
    state = DKMState(alpha=alphas[0], labels=torch.as_tensor(init.labels, device=X.device))

    def before_step(step: int) -> dict | None:
        if step % steps_per_alpha:
            return None
        state.alpha = alphas[step // steps_per_alpha]
        with torch.no_grad():
            labels = nearest_center(embed(ae, X), centers)
        delta, n_changed = fraction_changed(labels, state.labels)
        state.labels = labels
        return {"alpha": state.alpha, "delta_label": delta, "n_changed": n_changed}

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        z = ae.encode(x)
        if augment is None:
            rec = losses.reconstruction_loss(ae.decode, x, z, distance=reconstruction_loss)
            clust = clustering_loss(z, centers, state.alpha)
        else:
            x_aug = augment(x)
            z_aug = ae.encode(x_aug)
            rec = losses.reconstruction_loss(  # Eq. 20
                ae.decode, x, z, x_aug, z_aug, distance=reconstruction_loss
            )
            clust = augmented_clustering_loss(z, z_aug, centers, state.alpha)
        loss = total_loss(rec, clust, params.lam)
        return {"loss": loss, "reconstruction": rec, "clustering": clust}

    objective = Objective(batch_loss=batch_loss, before_step=before_step, state=state)
    history = train(
        objective,
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=len(alphas) * steps_per_alpha,
        generator=generator,
        desc="dkm",
        progress=progress,
        checkpointer=checkpointer,
    )
    z = embed(ae, X)
    with torch.no_grad():
        labels = nearest_center(z, centers)
    return refined_result(ae, z, labels, centers, history)


ALGORITHM = Algorithm(
    name="dkm",
    family="simultaneous",
    params=DKMParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY, "paper": PAPER, "annealing": ANNEALING},
)
