"""Each figure function draws what it says (checked on the matplotlib Figure it saves) and
writes a PNG; the published-number lookup."""

from __future__ import annotations

import sys

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.markers import MarkerStyle

from deepclust import metrics, plots, published


@pytest.fixture
def figures(monkeypatch) -> list:
    """Every Figure a plot function saves, in order (still inspectable after it is closed)."""
    saved = []
    save = plots._save

    def keep(fig, out, dpi=110):
        saved.append(fig)
        save(fig, out, dpi)

    monkeypatch.setattr(plots, "_save", keep)
    return saved


def _png(path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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


def test_metrics_figure(tmp_path, figures):
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
    [fig] = figures
    a, b = fig.axes
    assert (a.get_title(), b.get_title()) == ("a", "b")
    assert [t.get_text() for t in a.get_xticklabels()] == ["ACC", "NMI", "ARI"]
    assert a.get_ylabel() == "score (mean ± std over seeds)" and a.get_ylim() == (0, 1)
    # one bar per metric and algorithm, as tall as its mean; dec has one colour in both panels
    assert sorted(round(bar.get_height(), 6) for bar in a.patches) == [0.5] * 3 + [0.6] * 3
    assert [round(bar.get_height(), 6) for bar in b.patches] == [0.7] * 3
    dec = plots.algorithm_colors(["dec"])["dec"]
    assert all(bar.get_facecolor() == mcolors.to_rgba(dec) for bar in b.patches)
    assert [t.get_text() for t in b.get_legend().get_texts()] == ["dec"]


def test_ledger_figure_draws_each_seed_the_mean_and_every_published_number(tmp_path, figures):
    runs = pd.DataFrame(
        {
            "dataset": ["mnist"] * 4 + ["usps"],
            "ae": ["dense", "conv", "dense", "dense", "dense"],
            "algorithm": ["dec", "dekm", "dec", "aekm", "n2d"],
            "seed": [1, 0, 0, 0, 0],
            "acc": [0.9, 0.6, 0.8, 0.7, 0.95],
            "degenerate": ["only 8 of 10 clusters are non-empty", "", "", "", ""],
        }
    )
    points = plots.ledger_points(runs)
    # the dense autoencoder first, methods in the fixed order, another autoencoder named
    assert list(points["label"]) == ["aekm", "dec", "dekm (conv)", "n2d"]
    dec = points.iloc[1]
    assert dec["seeds"] == [0.8, 0.9] and dec["mean"] == pytest.approx(0.85)
    assert dec["degenerate"] == [False, True]  # seed 1's run is degenerate: in the mean, marked
    paper = sorted({r.value for r in published.lookup("mnist", "dec", "acc")})
    assert dec["published"] == paper and 0.843 in paper  # DEC's own paper among them
    assert points.iloc[3]["published"] == []  # no N2D number for USPS

    plots.ledger_figure(runs, tmp_path / "ledger.png")
    _png(tmp_path / "ledger.png")
    [fig] = figures
    mnist, usps = fig.axes
    assert (mnist.get_title(loc="left"), usps.get_title(loc="left")) == ("mnist", "usps")
    assert [t.get_text() for t in mnist.get_yticklabels()] == ["aekm", "dec", "dekm (conv)"]
    drawn = {tuple(np.round(xy, 6)) for c in mnist.collections for xy in c.get_offsets()}
    assert {(80.0, 1.0), (90.0, 1.0)} <= drawn  # DEC's seeds on its line
    marker = {tuple(np.round(xy, 6)): c for c in mnist.collections for xy in c.get_offsets()}
    cross = MarkerStyle("x").get_path().transformed(MarkerStyle("x").get_transform())
    assert np.allclose(marker[(90.0, 1.0)].get_paths()[0].vertices, cross.vertices)  # degenerate
    assert len(marker[(80.0, 1.0)].get_paths()[0].vertices) != len(cross.vertices)  # a dot
    assert {(round(100 * v, 6), 1.0) for v in paper} <= drawn  # every published DEC number
    assert [line.get_xdata()[0] for line in mnist.lines] == pytest.approx([70, 85, 60])  # means


def test_pretraining_figure(tmp_path, figures):
    steps = np.arange(1, 51)
    histories = {
        ("dense", seed): pd.DataFrame(
            {"step": steps, "epoch": steps // 10, "loss": 1 / steps + seed}
        )
        for seed in (0, 1, 2)
    }
    plots.pretraining_figure(histories, "digits", tmp_path / "pretraining.png")
    _png(tmp_path / "pretraining.png")
    [fig] = figures
    [ax] = fig.axes
    assert ax.get_title() == "digits: pretraining of 'dense'"
    assert (ax.get_xlabel(), ax.get_ylabel()) == (
        "step (mini-batch updates)",
        "reconstruction loss",
    )
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["seed 0", "seed 1", "seed 2"]
    for seed, line in enumerate(lines):
        assert np.array_equal(line.get_xdata(), steps)
        assert np.allclose(line.get_ydata(), 1 / steps + seed)
    assert ax.get_yscale() == "log"  # 0.02 to 3: more than two decades


def test_training_figure_with_loss_terms_and_label_updates(tmp_path, figures):
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
    [fig] = figures
    left, right = fig.axes
    # every loss term, not the bookkeeping columns (epoch, delta_label, n_changed)
    assert [line.get_label() for line in left.get_lines()] == ["loss", "loss_rec"]
    assert np.allclose(left.get_lines()[1].get_ydata(), 0.5 * np.exp(-steps / 50))
    [updates] = right.get_lines()
    assert np.array_equal(updates.get_xdata(), steps[::10])  # one point per label update
    assert np.allclose(updates.get_ydata(), 20 * np.exp(-steps[::10] / 20))  # in per cent
    assert right.get_ylabel() == "labels changed (%)"
    assert left.get_title() == "digits · idec · seed 0: loss"


def test_training_figure_without_history(tmp_path, figures):
    history = pd.DataFrame(columns=["step", "epoch", "loss"])
    plots.training_figure(history, "aekm", "digits · aekm · seed 0", tmp_path / "training.png")
    _png(tmp_path / "training.png")
    [fig] = figures
    left, right = fig.axes
    assert not left.get_lines() and not right.get_lines()
    assert [t.get_text() for t in left.texts] == ["aekm has no training steps"]
    assert [t.get_text() for t in right.texts] == ["aekm makes no label updates"]


def test_confusion_figure(tmp_path, labels, figures):
    y, y_pred = labels
    plots.confusion_figure(y, y_pred, "blobs · dec · seed 0", tmp_path / "confusion.png")
    _png(tmp_path / "confusion.png")
    [fig] = figures
    ax = fig.axes[0]
    fractions = ax.get_images()[0].get_array()
    assert fractions.shape == (4, 4) and np.allclose(fractions.sum(axis=1), 1)
    # clusters ordered by their matched class: the diagonal holds the ACC
    counts = metrics.confusion(y, y_pred).T
    acc = metrics.acc(y, y_pred)
    assert np.trace(fractions) * 30 / 120 == pytest.approx(acc)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1→0", "2→1", "3→2", "0→3"]
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(counts[counts > 0].tolist())
    assert f"ACC {100 * acc:.1f}%" in ax.get_title()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted cluster (→ matched class)",
                                                  "true class")  # fmt: skip


def test_embedding_figure_in_2d_needs_no_reducer(tmp_path, labels, figures):
    y, y_pred = labels
    embedding = np.random.default_rng(0).normal(size=(120, 2)) + y[:, None]
    plots.embedding_figure(embedding, y, y_pred, "blobs · dec · seed 0", tmp_path / "emb.png")
    _png(tmp_path / "emb.png")
    [fig] = figures
    by_class, by_cluster = fig.axes
    for ax, name in ((by_class, "true class"), (by_cluster, "cluster")):
        [points] = ax.collections
        assert np.allclose(points.get_offsets(), embedding)  # 2-D: drawn as it is
        assert len(np.unique(points.get_facecolors(), axis=0)) == 4
        assert ax.get_title().endswith(f"coloured by {name}")
        assert ax.get_xlabel() == "embedding 1"
    # a point has the same colour in both panels exactly when its cluster matches its class
    mapping = metrics.hungarian_mapping(y, y_pred)
    same = np.all(by_class.collections[0].get_facecolors()
                  == by_cluster.collections[0].get_facecolors(), axis=1)  # fmt: skip
    assert np.array_equal(same, np.array([mapping[c] for c in y_pred]) == y)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["0", "1", "2", "3"]


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
