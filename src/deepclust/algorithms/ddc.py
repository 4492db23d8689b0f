"""DDC: Deep Density-based Image Clustering (Ren, Wang, Li, Xu, Knowledge-Based Systems 2020).

Sequential (survey, paper 000, Sec. 3.1.4 and Appendix Table 3): t-SNE maps the pretrained
embedding to 2 dimensions, then DDC's extension of density-peak clustering (DPC) finds the
clusters, without being told k; the number it finds is reported (history
``n_clusters_found``; the evaluation's ``n_clusters_found`` too). Fewer than k is its answer,
not a collapse: the fit stage's degenerate-result check asks it for two clusters, not k
(``chooses_k``).

The survey describes the DPC extension in one sentence and gives its parameter, ratio = 0.1
(Table 3). The steps below follow ClustPy's implementation (``DDC_density_peak_clustering``
in the survey authors' library), whose comments cite Eq. 7-11 of the DDC paper; the paper is
not available here, so the equation numbers are ClustPy's:

- cut-off distance d_c = ratio · (mean pairwise distance);
- local density ρ_i = Σ_{j≠i} exp(−(d_ij / d_c)²) (Eq. 7);
- δ_i = distance to the nearest point of higher density (Eq. 8);
- i is a density peak if δ_i > d_c and ρ_i > mean ρ (Eq. 9); every other point takes the
  cluster of its nearest denser point, so each follows a chain up to a peak (a point with no
  denser point is a peak too);
- core points are those denser than the mean density of their cluster (Eq. 10); two
  clusters with core points closer than d_c are merged, transitively (Eq. 11).

Everything is exact (no neighbour approximation) and computed in row blocks, so memory stays
linear in n; time is quadratic (three passes over all pairs: about 7 s for 10,000 points on
a busy 2-core CPU, so some 6 minutes for MNIST's 70,000). t-SNE: scikit-learn's
Barnes-Hut with PCA initialisation; perplexity 30 is its default (Table 3: †). Table 3's
convolutional network (conv32-conv64-conv128-FC10) is ``kind: conv`` upstream.

New samples: t-SNE learns no mapping, so DDC cannot label them (survey Sec. 3.1); deepclust
labels only the data DDC was fitted on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from sklearn.manifold import TSNE

from deepclust.algorithms.base import Algorithm, ClusteringResult, InitialClustering, draw_seed
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.params import param
from deepclust.training import Checkpointer

log = logging.getLogger("deepclust")

BLOCK = 2**22  # pairwise distances held at once (32 MiB in float64)


@dataclass(frozen=True)
class DDCParams:
    # d_c = ratio · mean pairwise distance (Table 3)
    ratio: float = param(
        0.1,
        gt=0,
        doc="cut-off distance d_c = ratio · mean pairwise distance in the t-SNE plane (DDC: 0.1)",
    )
    perplexity: float = param(30.0, gt=0)  # t-SNE (Table 3: †; scikit-learn's default)
    tsne_max_iter: int = param(1000, ge=250)  # scikit-learn's default


FAST = {"tsne_max_iter": 500}
TINY = {"tsne_max_iter": 250}


def _row_blocks(Y: torch.Tensor):
    """(rows, distances from those rows to every point), a block of rows at a time."""
    step = max(1, BLOCK // len(Y))
    for start in range(0, len(Y), step):
        rows = torch.arange(start, min(start + step, len(Y)))
        yield rows, torch.cdist(Y[rows], Y)


def cutoff_distance(Y: torch.Tensor, ratio: float) -> float:
    """d_c = ratio · mean distance over the n(n−1)/2 pairs; ValueError if it reaches the
    largest distance (every point would be every other's neighbour)."""
    n = len(Y)
    total, largest = 0.0, 0.0
    for _, d in _row_blocks(Y):
        total += float(d.sum())
        largest = max(largest, float(d.max()))
    d_c = ratio * total / (n * (n - 1))
    if not 0 < d_c < largest:
        raise ValueError(
            f"algorithms.ddc: ratio {ratio} gives a cut-off distance {d_c:.4g} outside "
            f"(0, {largest:.4g}), the largest distance; use a ratio well below 1 (DDC: 0.1)"
        )
    return d_c


def local_density(Y: torch.Tensor, d_c: float) -> torch.Tensor:
    """ρ_i = Σ_{j≠i} exp(−(d_ij/d_c)²) (Eq. 7); the i = j term, exp(0) = 1, is left out."""
    rho = torch.empty(len(Y), dtype=Y.dtype)
    for rows, d in _row_blocks(Y):
        rho[rows] = d.div_(d_c).square_().neg_().exp_().sum(dim=1) - 1.0  # in place: fast
    return rho


def nearest_denser(Y: torch.Tensor, rho: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each point the nearest point of strictly higher density and its distance δ (Eq. 8);
    parent −1 and δ = ∞ where there is none."""
    parent = torch.full((len(Y),), -1, dtype=torch.long)
    delta = torch.full((len(Y),), float("inf"), dtype=Y.dtype)
    for rows, d in _row_blocks(Y):
        d.masked_fill_(rho[None, :] <= rho[rows, None], float("inf"))
        delta[rows], nearest = d.min(dim=1)
        parent[rows] = torch.where(torch.isfinite(delta[rows]), nearest, -1)
    return parent, delta


def assign_to_peaks(rho: torch.Tensor, parent: torch.Tensor, peaks: torch.Tensor) -> np.ndarray:
    """Labels 0..c−1 for the c peaks (densest first); every other point takes its nearest
    denser point's label, following the chain up to a peak."""
    labels = np.full(len(rho), -1, dtype=np.int64)
    n_peaks = 0
    for i in torch.argsort(rho, descending=True, stable=True).tolist():
        if peaks[i] or parent[i] < 0:
            labels[i], n_peaks = n_peaks, n_peaks + 1
        else:
            labels[i] = labels[int(parent[i])]  # denser, so labelled already
    return labels


def merge_clusters(Y: np.ndarray, labels: np.ndarray, rho: np.ndarray, d_c: float) -> np.ndarray:
    """Eq. 10-11: clusters whose core points (ρ above their cluster's mean ρ) come closer than
    d_c are merged, transitively; the merged clusters are numbered 0..c'−1 in the order of
    their smallest old label."""
    c = int(labels.max()) + 1
    mean_rho = np.bincount(labels, weights=rho, minlength=c) / np.bincount(labels, minlength=c)
    core = rho > mean_rho[labels]
    strictly_within = np.nextafter(d_c, 0)  # Eq. 11 is strict: d < d_c
    points = [Y[core & (labels == j)] for j in range(c)]
    trees = [cKDTree(p) if len(p) else None for p in points]
    lo = np.array([p.min(0) if len(p) else np.full(2, np.inf) for p in points])
    hi = np.array([p.max(0) if len(p) else np.full(2, -np.inf) for p in points])
    rows, cols = [], []
    for a in range(c):
        for b in range(a + 1, c):
            gap = np.maximum(0, np.maximum(lo[a] - hi[b], lo[b] - hi[a]))
            if trees[a] is None or trees[b] is None or np.linalg.norm(gap) > strictly_within:
                continue  # no core points, or bounding boxes too far apart
            if trees[a].count_neighbors(trees[b], strictly_within) > 0:
                rows.append(a)
                cols.append(b)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(c, c))
    _, group = connected_components(graph, directed=False)
    return group[labels].astype(np.int64)


def density_peak_clustering(Y: np.ndarray, ratio: float) -> tuple[np.ndarray, dict]:
    """DDC's extension of DPC on the 2-D points ``Y``: labels and what it found."""
    Yt = torch.as_tensor(Y, dtype=torch.float64)
    d_c = cutoff_distance(Yt, ratio)
    rho = local_density(Yt, d_c)
    parent, delta = nearest_denser(Yt, rho)
    peaks = (delta > d_c) & (rho > rho.mean())  # Eq. 9
    labels = assign_to_peaks(rho, parent, peaks)
    merged = merge_clusters(np.asarray(Y, np.float64), labels, rho.numpy(), d_c)
    info = {
        "d_c": d_c,
        "n_density_peaks": int(labels.max()) + 1,
        "n_clusters_found": int(merged.max()) + 1,
    }
    return merged, info


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DDCParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,  # no training loop: nothing to checkpoint
) -> ClusteringResult:
    z = embed(autoencoder, X).cpu().numpy()
    tsne = TSNE(
        n_components=2,
        perplexity=min(params.perplexity, (len(z) - 1) / 3),
        max_iter=params.tsne_max_iter,
        init="pca",
        random_state=draw_seed(generator),
    )
    Y = tsne.fit_transform(z.astype(np.float32))
    labels, info = density_peak_clustering(Y, params.ratio)
    log.info(
        "ddc: %d density peaks merged into %d clusters (k = %d)",
        info["n_density_peaks"],
        info["n_clusters_found"],
        len(init.centers),
    )
    return ClusteringResult(
        labels=labels,
        embedding=z,
        centers=None,  # DPC has peaks, not centers, and they live in the t-SNE plane
        history=[{"step": 0, "tsne_kl_divergence": float(tsne.kl_divergence_), **info}],
        state={"tsne": torch.as_tensor(Y, dtype=torch.float32)},
    )


ALGORITHM = Algorithm(
    name="ddc",
    family="sequential",
    params=DDCParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
    init="none",
    chooses_k=True,
)
