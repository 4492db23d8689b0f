"""N2D: (Not Too) Deep Clustering (McConville, Santos-Rodríguez, Piechocki, Craddock, ICPR 2020).

Sequential (survey, paper 000, Sec. 3.1.3 and Appendix Table 3): the pretrained autoencoder is
left as it is; a manifold learner reduces its embedding to ``n_components`` = k dimensions, and
a Gaussian mixture fitted by EM on that manifold gives the clusters (labels = the component
with the largest posterior). The survey prints no equations for N2D.

Settings. Table 3: UMAP with 20 neighbours, ISOMAP with 5, k output features, the EM algorithm;
t-SNE's perplexity is not given (†). Taken from the authors' code (github.com/rymc/n2d,
``n2d.py`` and ``run.sh``), which the survey does not list: UMAP ``min_dist`` 0 and the
Euclidean metric, a full-covariance ``GaussianMixture``, and t-SNE with its library's default
perplexity 30. **Deviation**: the authors' mixture has one EM start; ours keeps the best of
``em_restarts`` = 10 by likelihood (no labels involved). With one start, EM on the same UMAP
output of USPS merged 3 with 5 or 4 with 9 while splitting 0 or 1 on 3 of 5 seeds (ACC 67.8 to
96.3 %); the best of 10 starts had the higher likelihood and 95.7-96.6 % on all five
(docs/results.md, "Measurements behind the methods' readings"). ``em_restarts: 1`` is the
authors' mixture. t-SNE to more than 3 dimensions needs scikit-learn's exact
method (quadratic in n); ``fit`` refuses it above ``MAX_EXACT_TSNE`` samples, and
``n_components: 2`` runs Barnes-Hut. Table 3's d-500-500-2000-k network and 1000 pretraining
epochs (Adam) are an autoencoder configuration upstream.

New samples (survey Sec. 3.1: "one cannot use the learned model to trivially predict the
labels of newly obtained data"). deepclust's pipeline labels the data it was fitted on only.
In Python, :func:`cluster_manifold` returns a :class:`ManifoldClustering` whose ``predict``
labels new embeddings through UMAP's or ISOMAP's out-of-sample ``transform`` (an approximation
that does not move the fitted points) and the mixture's posterior; with t-SNE, which learns no
mapping, it raises a ValueError. The saved ``model.pt`` holds the manifold coordinates and the
mixture's parameters (tensors only), not the UMAP or ISOMAP model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.manifold import TSNE, Isomap
from sklearn.mixture import GaussianMixture

from deepclust.algorithms.base import Algorithm, ClusteringResult, InitialClustering, draw_seed
from deepclust.models.autoencoder import FeedforwardAutoencoder, embed
from deepclust.params import param
from deepclust.training import Checkpointer

MANIFOLDS = ("umap", "isomap", "tsne")
NEIGHBORS = {"umap": 20, "isomap": 5}  # Table 3 (UMAP 20 also in the authors' run.sh)
MAX_EXACT_TSNE = 5000  # samples; exact t-SNE keeps n² distances


@dataclass(frozen=True)
class N2DParams:
    # Table 3; "isomap" and "tsne" as in the paper's comparison
    manifold: str = param(
        "umap",
        choices=("umap", "isomap", "tsne"),
        doc="manifold learner on the embedding: umap (N2D), isomap or tsne",
    )
    # None = k, the number of clusters (Table 3)
    n_components: int | None = param(
        None, ge=1, doc="manifold dimensions; null = the number of clusters k (N2D)"
    )
    # None = Table 3's: 20 for UMAP, 5 for ISOMAP
    n_neighbors: int | None = param(
        None, ge=2, doc="UMAP / ISOMAP neighbours; null = 20 for UMAP, 5 for ISOMAP (N2D)"
    )
    min_dist: float = param(0.0, ge=0)  # UMAP, authors' run.sh
    # None = umap-learn's default (200 above 10,000 samples)
    umap_epochs: int | None = param(
        None, ge=1, doc="UMAP optimisation epochs; null = umap-learn's default"
    )
    perplexity: float = param(30.0, gt=0)  # t-SNE; Table 3: †, the library default the authors ran
    # the mixture's, authors' n2d.py
    covariance_type: str = param("full", choices=("full", "tied", "diag", "spherical"))
    em_restarts: int = param(
        10, ge=1, doc="EM starts of the mixture, the most likely kept (authors' code: 1)"
    )


FAST = {"umap_epochs": 100}
TINY = {"n_neighbors": 10}


@dataclass
class ManifoldClustering:
    """A fitted manifold learner and the Gaussian mixture on its output."""

    reducer: object
    mixture: GaussianMixture

    def predict(self, z: np.ndarray) -> np.ndarray:
        """Labels of new embeddings ``z``: the reducer's out-of-sample ``transform``, then the
        mixture's most probable component. t-SNE has no such mapping (survey Sec. 3.1)."""
        if not hasattr(self.reducer, "transform"):
            raise ValueError(
                "t-SNE learns no mapping that could place new samples on the manifold "
                "(survey Sec. 3.1); refit on all data or use manifold: umap or isomap"
            )
        return self.mixture.predict(self.reducer.transform(np.asarray(z, np.float32)))


def manifold_learner(params: N2DParams, n_components: int, n_samples: int, seed: int):
    """The unfitted reducer that ``params.manifold`` names."""
    if params.manifold not in MANIFOLDS:
        raise ValueError(
            f"algorithms.n2d: unknown manifold '{params.manifold}'; known: {', '.join(MANIFOLDS)}"
        )
    n_neighbors = params.n_neighbors or NEIGHBORS.get(params.manifold)
    if params.manifold == "umap":
        from deepclust.extras import require
        from deepclust.manifold import cache_umap_compilation

        umap = require("umap", "N2D's UMAP (manifold: umap)")

        cache_umap_compilation()
        return umap.UMAP(
            n_components=n_components,
            n_neighbors=min(n_neighbors, n_samples - 1),
            min_dist=params.min_dist,
            n_epochs=params.umap_epochs,
            metric="euclidean",
            random_state=seed,
        )
    if params.manifold == "isomap":
        return Isomap(n_components=n_components, n_neighbors=min(n_neighbors, n_samples - 1))
    exact = n_components > 3  # scikit-learn's Barnes-Hut works in at most 3 dimensions
    if exact and n_samples > MAX_EXACT_TSNE:
        raise ValueError(
            f"algorithms.n2d: t-SNE to {n_components} dimensions needs the exact method, "
            f"quadratic in the {n_samples} samples (limit {MAX_EXACT_TSNE}); "
            "set n_components to 2 or 3, or use manifold: umap"
        )
    return TSNE(
        n_components=n_components,
        perplexity=min(params.perplexity, (n_samples - 1) / 3),
        method="exact" if exact else "barnes_hut",
        init="pca",
        random_state=seed,
    )


def cluster_manifold(
    z: np.ndarray, n_clusters: int, params: N2DParams, generator: torch.Generator
) -> tuple[ManifoldClustering, np.ndarray, np.ndarray]:
    """N2D's second stage on the embedding ``z``: the fitted model, the manifold coordinates
    and the labels (argmax of the mixture's posterior)."""
    n_components = params.n_components or n_clusters
    reducer = manifold_learner(params, n_components, len(z), draw_seed(generator))
    with warnings.catch_warnings():  # "n_jobs overridden by setting random_state": intended
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        coords = reducer.fit_transform(np.asarray(z, np.float32)).astype(np.float64)
    mixture = fit_mixture(coords, n_clusters, params, draw_seed(generator))
    labels = mixture.predict_proba(coords).argmax(axis=1)
    return ManifoldClustering(reducer, mixture), coords, labels


def fit_mixture(coords: np.ndarray, n_clusters: int, params: N2DParams, seed: int):
    """The Gaussian mixture on the manifold: the most likely of ``params.em_restarts`` EM runs."""
    return GaussianMixture(
        n_components=n_clusters,
        covariance_type=params.covariance_type,
        n_init=params.em_restarts,
        random_state=seed,
    ).fit(coords)


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: N2DParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,  # no training loop: nothing to checkpoint
) -> ClusteringResult:
    z = embed(autoencoder, X)
    model, coords, labels = cluster_manifold(z.cpu().numpy(), len(init.centers), params, generator)
    mixture = model.mixture
    return ClusteringResult(
        labels=labels.astype(np.int64),
        embedding=z.cpu().numpy(),
        centers=None,  # the mixture's means live on the manifold, not in the embedding
        history=[
            {
                "step": 0,
                "em_iterations": int(mixture.n_iter_),
                "em_converged": bool(mixture.converged_),
                "log_likelihood_lower_bound": float(mixture.lower_bound_),
            }
        ],
        state={
            "manifold": torch.as_tensor(coords, dtype=torch.float32),
            "mixture_weights": torch.as_tensor(mixture.weights_),
            "mixture_means": torch.as_tensor(mixture.means_),
            "mixture_covariances": torch.as_tensor(mixture.covariances_),
        },
    )


ALGORITHM = Algorithm(
    name="n2d",
    family="sequential",
    params=N2DParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
    init="none",
)
