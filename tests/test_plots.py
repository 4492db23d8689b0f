"""Each figure function writes a non-trivial PNG; the published-number lookup."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from deepclust import plots, published


def _png(path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    y_pred = np.where(rng.random(120) < 0.8, (y + 1) % 4, rng.integers(0, 4, 120))
    return y, y_pred


def test_algorithm_colors_are_fixed_whichever_others_are_drawn():
    alone = plots.algorithm_colors(["dec"])
    together = plots.algorithm_colors(["idec", "dec", "new_method"])
    assert alone["dec"] == together["dec"]
    assert len(set(together.values())) == 3


def test_metrics_figure(tmp_path):
    summary = pd.DataFrame(
        {
            "dataset": ["a", "a", "b"],
            "ae": ["dense"] * 3,
            "algorithm": ["aekm", "dec", "dec"],
            **{f"{m}_mean": [0.5, 0.6, 0.7] for m in ("acc", "nmi", "ari")},
            **{f"{m}_std": [0.01, 0.02, 0.0] for m in ("acc", "nmi", "ari")},
        }
    )
    plots.metrics_figure(summary, tmp_path / "metrics.png")
    _png(tmp_path / "metrics.png")


def test_pretraining_figure(tmp_path):
    steps = np.arange(1, 51)
    histories = {
        ("dense", seed): pd.DataFrame(
            {"step": steps, "epoch": steps // 10, "loss": 1 / steps + seed}
        )
        for seed in (0, 1, 2)
    }
    plots.pretraining_figure(histories, "digits", tmp_path / "pretraining.png")
    _png(tmp_path / "pretraining.png")


def test_training_figure_with_loss_terms_and_label_updates(tmp_path):
    steps = np.arange(0, 100)
    history = pd.DataFrame(
        {
            "step": steps,
            "epoch": steps // 10,
            "loss": np.exp(-steps / 30),
            "loss_rec": 0.5 * np.exp(-steps / 50),
            "delta_label": np.where(steps % 10 == 0, 0.2 * np.exp(-steps / 20), np.nan),
            "n_changed": np.nan,
        }
    )
    plots.training_figure(history, "idec", "digits · idec · seed 0", tmp_path / "training.png")
    _png(tmp_path / "training.png")


def test_training_figure_without_history(tmp_path):
    history = pd.DataFrame(columns=["step", "epoch", "loss"])
    plots.training_figure(history, "aekm", "digits · aekm · seed 0", tmp_path / "training.png")
    assert (tmp_path / "training.png").stat().st_size > 5000


def test_confusion_figure(tmp_path, labels):
    plots.confusion_figure(*labels, "blobs · dec · seed 0", tmp_path / "confusion.png")
    _png(tmp_path / "confusion.png")


def test_embedding_figure_in_2d_needs_no_reducer(tmp_path, labels):
    y, y_pred = labels
    embedding = np.random.default_rng(0).normal(size=(120, 2)) + y[:, None]
    plots.embedding_figure(embedding, y, y_pred, "blobs · dec · seed 0", tmp_path / "emb.png")
    _png(tmp_path / "emb.png")


def test_embedding_falls_back_to_tsne_without_umap(monkeypatch, labels):
    monkeypatch.setitem(sys.modules, "umap", None)  # `import umap` raises ImportError
    xy, method = plots.embed_2d(np.random.default_rng(0).normal(size=(60, 5)))
    assert method == "t-SNE" and xy.shape == (60, 2)


def test_subsample_is_deterministic_and_bounded():
    a, b = plots.subsample(20000, 5000, seed=3), plots.subsample(20000, 5000, seed=3)
    assert np.array_equal(a, b) and len(a) == 5000 and np.all(np.diff(a) > 0)
    assert np.array_equal(plots.subsample(100, 5000), np.arange(100))


def test_published_lookup_maps_our_names():
    dec = published.lookup("mnist", "dec", "acc")
    assert sorted(r.source for r in dec) == ["002 Table III", "003 Table 3", "004 Table 3"]
    ref = published.reference("mnist", "dec", "acc")
    assert ref.printed == "84.30*" and ref.value == pytest.approx(0.843)  # DEC paper's number
    assert published.reference("mnist", "dynae", "nmi").value == pytest.approx(0.964)
    assert published.reference("20news", "damic", "ari").value == pytest.approx(0.42)
    assert published.reference("damic_synthetic", "damic", "ari").value == pytest.approx(0.96)
    assert published.reference("usps", "dekm", "acc").source == "002 Table III"


def test_published_numbers_from_a_paper_outside_shared_papers_name_it():
    ref = published.reference("mnist", "n2d", "acc")
    assert ref.value == pytest.approx(0.979)
    assert ref.source == "N2D (McConville et al., ICPR 2020) Table"
    assert published.reference("fashion_mnist", "n2d", "nmi").value == pytest.approx(0.684)
    assert published.reference("usps", "n2d", "acc") is None  # not checked: left out
    assert published.reference("mnist", "vade", "acc").source == "003 Table 3"


def test_published_lookup_without_a_number():
    assert published.reference("digits", "dec", "acc") is None
    assert published.reference("mnist", "aec", "acc") is None
    assert published.reference("damic_synthetic", "damic", "acc") is None  # not reported
    with pytest.raises(ValueError, match="unknown metric"):
        published.lookup("mnist", "dec", "f1")


def test_published_numbers_are_package_data():
    records = published.records()
    assert len(records) > 200 and all(0 <= r.value <= 1 for r in records)
