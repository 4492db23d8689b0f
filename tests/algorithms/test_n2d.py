import numpy as np
import pytest
import torch

from deepclust import metrics
from deepclust.algorithms import ALGORITHMS, n2d
from deepclust.models.autoencoder import embed


def test_paper_settings_are_table_3s():
    params = ALGORITHMS["n2d"].params_from_config({})
    umap_ = n2d.manifold_learner(params, n_components=10, n_samples=1000, seed=0)
    assert (umap_.n_components, umap_.n_neighbors, umap_.min_dist) == (10, 20, 0.0)
    isomap = n2d.manifold_learner(
        n2d.N2DParams(manifold="isomap"), n_components=10, n_samples=1000, seed=0
    )
    assert (isomap.n_components, isomap.n_neighbors) == (10, 5)


def test_exact_tsne_is_refused_on_large_data_and_unknown_manifolds_are_named():
    with pytest.raises(ValueError, match="exact method, quadratic in the 6000 samples"):
        n2d.manifold_learner(n2d.N2DParams(manifold="tsne"), 10, 6000, seed=0)
    tsne = n2d.manifold_learner(n2d.N2DParams(manifold="tsne"), 2, 6000, seed=0)
    assert tsne.method == "barnes_hut"
    with pytest.raises(ValueError, match="unknown manifold 'pca'; known: umap, isomap, tsne"):
        n2d.manifold_learner(n2d.N2DParams(manifold="pca"), 2, 100, seed=0)


def test_labels_are_the_mixtures_most_probable_component(blobs, tiny_ae):
    X, y = blobs
    z = embed(tiny_ae, X).numpy()
    model, coords, labels = n2d.cluster_manifold(
        z, 3, n2d.N2DParams(n_neighbors=10), torch.Generator().manual_seed(0)
    )
    assert coords.shape == (90, 3)  # n_components = k
    assert np.array_equal(labels, model.mixture.predict_proba(coords).argmax(axis=1))
    assert metrics.acc(y, labels) == 1.0


def test_the_mixture_keeps_the_most_likely_of_its_em_restarts():
    """Ten EM starts never end less likely than the first alone, and on blobs of unequal
    sizes one start is often stuck (the USPS measurement behind ``em_restarts``)."""
    from sklearn.datasets import make_blobs

    coords, _ = make_blobs(
        n_samples=[200, 200, 60, 60, 60, 60, 30, 30], cluster_std=0.6, random_state=3
    )
    gains = []
    for seed in range(3):
        one = n2d.fit_mixture(coords, 8, n2d.N2DParams(em_restarts=1), seed)
        ten = n2d.fit_mixture(coords, 8, n2d.N2DParams(), seed)
        gains.append(ten.lower_bound_ - one.lower_bound_)
    assert min(gains) >= 0 and max(gains) > 1e-4, gains


def test_predict_places_new_samples_through_umap_but_not_tsne(blobs, tiny_ae):
    X, y = blobs
    z = embed(tiny_ae, X).numpy()
    generator = torch.Generator().manual_seed(0)
    model, _, labels = n2d.cluster_manifold(z[::2], 3, n2d.N2DParams(n_neighbors=10), generator)
    assert np.array_equal(model.predict(z[::2]), labels)  # the fitted points keep their labels
    new = model.predict(z[1::2])  # the other half of every blob
    assert metrics.acc(y[1::2], new) == 1.0
    tsne = n2d.manifold_learner(n2d.N2DParams(manifold="tsne"), 2, 90, seed=0)
    with pytest.raises(ValueError, match="t-SNE learns no mapping"):
        n2d.ManifoldClustering(tsne, model.mixture).predict(z)


def test_fit_separates_blobs_and_keeps_the_autoencoder(blobs, tiny_ae, tiny_init):
    X, y = blobs
    params = n2d.N2DParams(n_neighbors=10)
    result = n2d.fit(tiny_ae, X, tiny_init, params, generator=torch.Generator(), progress=False)
    assert metrics.acc(y, result.labels) == 1.0
    assert np.array_equal(result.embedding, embed(tiny_ae, X).numpy())
    assert result.state["manifold"].shape == (90, 3)
    assert result.history[0]["em_converged"]
