"""DEKM: Deep Embedded K-Means clustering (Guo, Lin, Ye, ICDM Workshops 2021; paper 002).

Alternating (paper 002, Algorithm 1, Eq. 1-6). After pretraining (Eq. 1) the decoder is
dropped; each iteration i = 1, ..., Iter:

1. H = f(X), the embedding of all data (line 3);
2. k-means in H gives the clusters C and centroids μ (line 4, Eq. 2);
3. the within-class scatter S_w = Σ_j Σ_{h ∈ C_j} (h − μ_j)(h − μ_j)ᵀ (line 5, Eq. 4);
4. V = the eigenvectors of S_w sorted by *ascending* eigenvalue (line 6; Rayleigh-Ritz), so
   in y = Vᵀh (the paper writes Y = VH with eigenvectors as rows) the last dimension carries
   the least cluster-structure information;
5. the representation step (line 7, Eq. 6): y' is a copy of y = Vᵀh with its last entry
   replaced by that of its centroid, m_{y_i} = Vᵀμ_{y_i}, and the encoder minimises
   ‖f(x)ᵀV − y'‖² over ``update_interval`` mini-batches ("mini-batch updating strategy").

How we read Eq. 6: y' is built from the H of step 1 and held fixed while the encoder moves,
so at the start of an iteration the loss is the last-dimension term alone (the greedy step)
and the other dimensions are anchored where k-means saw them. This is exactly what the
authors' code does (``y_true = H_vt[idx]; y_true[i, -1] = U_vt[assignment, -1]``, then
``losses.mse(y_true, model(x) @ V)``). Reduction as in that code: mean over the embedding
dimensions (Keras ``mse``) and over the batch; Eq. 6 writes a sum, which only rescales
Adam's input.

Stop rule: fewer than ``tol`` = 0.1 % of the samples change cluster between two consecutive
iterations (paper, Sec. IV-C; the authors' code uses 0.5 %), checked right after the k-means
of step 2, or after ``max_iter`` steps. The final labels are DEKM's own: the k-means of the
final embedding (when ``max_iter`` ends the run we cluster the final embedding once more so
that labels and embedding agree; Algorithm 1 would return the clusters of the last line 4).

Deviations: the first iteration's k-means is the pipeline's initial k-means on the pretrained
embedding (the same computation). Later iterations run Lloyd's k-means *warm-started* from the
previous clusters (their means in the new embedding), where the paper runs a fresh k-means
and the authors' code a fresh scikit-learn KMeans with n_init = 2·n_iter of the previous run,
matching the new labels to the old ones with the Hungarian method to count changes. Warm
starting keeps the cluster identities, so changes are counted directly; it is also cheaper
and deterministic. The paper uses a convolutional autoencoder for images and embedding size
k; both are autoencoder configurations upstream.

Paper defaults (paper 002 Sec. IV-C and the authors' DEKM.py): Adam lr 0.001, batch 256,
tol 0.1 %; ``update_interval`` 40 steps per iteration and at most 140·100 = 14,000 steps
(code; the paper leaves Iter open).
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
    cluster_means,
    fraction_changed,
    refined_result,
)
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.params import batch_size_param, lr_param, momentum_param, optimizer_param, param
from deepclust.training import Checkpointer, Objective, TrainingState, make_optimizer, train


@dataclass(frozen=True)
class DEKMParams:
    update_interval: int = param(40, ge=1)  # mini-batch steps per iteration (authors' DEKM.py)
    max_iter: int = param(14000, ge=1)  # total steps, 140 * 100 (authors' DEKM.py; paper: Iter)
    tol: float = param(0.001, ge=0)  # stop when < 0.1 % of labels change (paper Sec. IV-C)
    batch_size: int = batch_size_param()  # authors' DEKM.py
    optimizer: str = optimizer_param("adam")  # paper Sec. IV-C
    lr: float = lr_param(0.001)  # paper Sec. IV-C
    momentum: float = momentum_param(0.0)  # unused by Adam
    # Lloyd iterations of each k-means (scikit-learn's default)
    kmeans_max_iter: int = param(300, ge=1)


FAST = {"update_interval": 20, "max_iter": 400}
TINY = {"update_interval": 3, "max_iter": 15, "batch_size": 32, "tol": 0.0}


def within_class_scatter(h: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor):
    """Eq. 4 / Algorithm 1 line 5: S_w = Σ_i (h_i − μ_{y_i})(h_i − μ_{y_i})ᵀ."""
    diff = h - centers[labels]
    return diff.T @ diff


def rotation(scatter: torch.Tensor) -> torch.Tensor:
    """Algorithm 1 line 6: eigenvectors of S_w as columns, ascending eigenvalues."""
    _, vectors = torch.linalg.eigh(scatter)  # eigh returns ascending eigenvalues
    return vectors


def greedy_targets(
    h: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor, V: torch.Tensor
) -> torch.Tensor:
    """Eq. 6's y': y = Vᵀh with the last entry replaced by that of m_{y_i} = Vᵀμ_{y_i}."""
    y = h @ V
    y[:, -1] = (centers @ V)[labels, -1]
    return y


def representation_loss(y: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Eq. 6, ‖y − y'‖², averaged over the embedding dimensions and the batch."""
    return F.mse_loss(y, targets)


def kmeans_warm(
    h: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor, max_iter: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means on ``h`` started from the means of the previous clusters."""
    start = cluster_means(h, labels, centers).cpu().numpy().astype(np.float64)
    km = KMeans(len(start), init=start, n_init=1, max_iter=max_iter)
    new_labels = km.fit_predict(h.cpu().numpy().astype(np.float64))
    return (
        torch.as_tensor(new_labels, dtype=torch.long, device=h.device),
        torch.as_tensor(km.cluster_centers_, dtype=h.dtype, device=h.device),
    )


@dataclass
class DEKMState(TrainingState):
    """What DEKM's callbacks keep between iterations: the k-means labels and centres, the
    rotation V (Eq. 4) and the greedy targets y' of every sample."""

    labels: torch.Tensor
    centers: torch.Tensor
    V: torch.Tensor
    targets: torch.Tensor


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DEKMParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    optimizer = make_optimizer(
        ae.encoder.parameters(), params.optimizer, params.lr, params.momentum
    )  # the decoder is dropped after pretraining
    state = DEKMState(
        labels=torch.as_tensor(init.labels, dtype=torch.long, device=X.device),
        centers=torch.as_tensor(init.centers, dtype=X.dtype, device=X.device),
        V=torch.empty(0, device=X.device),
        targets=torch.empty(0, device=X.device),
    )

    def cluster(first: bool) -> dict:
        h = embed(ae, X)
        if first:  # line 4 on the pretrained embedding = the pipeline's initial k-means
            labels, centers = state.labels, state.centers
        else:
            labels, centers = kmeans_warm(h, state.labels, state.centers, params.kmeans_max_iter)
        delta, n_changed = fraction_changed(labels, state.labels)
        state.labels, state.centers = labels, centers
        V = rotation(within_class_scatter(h, labels, centers))
        state.V, state.targets = V, greedy_targets(h, labels, centers, V)
        n_found = int(labels.unique().numel())  # a collapse is not convergence (degenerate.py)
        return {"delta_label": delta, "n_changed": n_changed, "n_clusters_found": n_found}

    def before_step(step: int) -> dict | None:
        if step % params.update_interval:
            return None
        info = cluster(first=step == 0)
        if step > 0 and info["delta_label"] < params.tol:
            objective.stop = True
        return info

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": representation_loss(ae.encode(x) @ state.V, state.targets[idx])}

    objective = Objective(batch_loss=batch_loss, before_step=before_step, state=state)
    history = train(
        objective,
        X,
        optimizer,
        batch_size=min(params.batch_size, len(X)),
        max_steps=params.max_iter,
        generator=generator,
        desc="dekm",
        progress=progress,
        checkpointer=checkpointer,
    )
    if not objective.stop:  # cluster the final embedding so that labels and embedding agree
        info = cluster(first=False)
        history.append({"step": params.max_iter, "epoch": history[-1]["epoch"], **info})
    z = embed(ae, X)
    return refined_result(ae, z, state.labels, state.centers, history, rotation=state.V.cpu())


ALGORITHM = Algorithm(
    name="dekm",
    family="alternating",
    params=DEKMParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
)
