"""Figures: metrics per algorithm and dataset, training curves, 2-D embeddings, confusion matrices.

Every figure is a PNG written atomically. Colours are fixed per algorithm (:func:`algorithm_colors`)
and per class (tab10/tab20), so the same method or class looks the same in every figure.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust import metrics
from deepclust.evaluate import METRIC_COLUMNS
from deepclust.extras import require
from deepclust.io import atomic_path
from deepclust.manifold import cache_umap_compilation

require("matplotlib", "Figures").use("Agg")
plt = require("matplotlib.pyplot", "Figures")

log = logging.getLogger("deepclust")

# A fixed order, so an algorithm has the same colour whichever others are in a figure.
KNOWN_ALGORITHMS = (
    *("aekm", "dec", "idec", "dcn", "aec", "dkm", "dekm", "dynae", "damic", "dcec"),
    *("n2d", "den", "ddc", "acedec", "dipencoder", "vade"),  # the survey's (issue 19)
)
MAX_EMBEDDING_POINTS = 5000  # UMAP / t-SNE input is subsampled (deterministically) above this
HISTORY_KEYS = (  # every other column of a training history is a loss term
    "step", "epoch", "delta_label", "n_changed", "n_clusters_found", "phase",
    "agreement",  # DAMIC
    "n_conflicted", "conflicted_fraction", "centroids_updated", "beta1", "beta2",  # DynAE
    "em_iterations", "em_converged", "log_likelihood_lower_bound",  # N2D
    "t", "kmeans_inertia",  # DEN
    "d_c", "n_density_peaks", "n_clusters_found", "tsne_kl_divergence",  # DDC
    "reconstruction_weight",  # DipEncoder
    "lr",  # VaDE
)  # fmt: skip


def algorithm_colors(algorithms: list[str]) -> dict[str, tuple]:
    """One fixed colour per algorithm, the same in every figure: tab10's ten, then the light
    shades of tab20 (the next ten), then tab10 again."""
    tab10, tab20 = plt.get_cmap("tab10").colors, plt.get_cmap("tab20").colors
    palette = [*tab10, *tab20[1::2]]
    order = algorithm_order(algorithms)
    return {name: (*palette[order.index(name) % 20], 1.0) for name in algorithms}


def algorithm_order(algorithms) -> list[str]:
    """:data:`KNOWN_ALGORITHMS`, then any others among ``algorithms`` by name."""
    return [*KNOWN_ALGORITHMS, *sorted(set(algorithms) - set(KNOWN_ALGORITHMS))]


def class_colors(n: int) -> np.ndarray:
    """``n`` distinguishable colours for classes (tab10 up to 10, tab20 up to 20, then hsv)."""
    if n <= 10:
        return np.asarray(plt.get_cmap("tab10").colors[:n])
    if n <= 20:
        return np.asarray(plt.get_cmap("tab20").colors[:n])
    return plt.get_cmap("hsv")(np.linspace(0, 1, n, endpoint=False))


def _save(fig, out: str | Path, dpi: int = 110) -> None:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def metrics_figure(summary: pd.DataFrame, out: str | Path) -> None:
    """One panel per dataset: grouped bars of ACC/NMI/ARI per algorithm, ± std over seeds."""
    datasets = list(dict.fromkeys(summary["dataset"]))
    colors = algorithm_colors(list(summary["algorithm"].unique()))
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(4.5 * len(datasets), 3.6), squeeze=False, sharey=True
    )
    for ax, dataset in zip(axes[0], datasets, strict=True):
        rows = summary[summary["dataset"] == dataset].reset_index(drop=True)
        width = 0.8 / len(rows)
        x = np.arange(len(METRIC_COLUMNS))
        for i, row in rows.iterrows():
            label = (
                row["algorithm"]
                if rows["ae"].nunique() == 1
                else f"{row['algorithm']} ({row['ae']})"
            )
            ax.bar(
                x + (i - (len(rows) - 1) / 2) * width,
                [row[f"{m}_mean"] for m in METRIC_COLUMNS],
                width,
                yerr=[row[f"{m}_std"] for m in METRIC_COLUMNS],
                capsize=2,
                color=colors[row["algorithm"]],
                label=label,
            )
        ax.set_xticks(x, [m.upper() for m in METRIC_COLUMNS])
        ax.set_ylim(0, 1)
        ax.set_title(dataset)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("score (mean ± std over seeds)")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    _save(fig, out, dpi=120)


def ledger_points(runs: pd.DataFrame) -> pd.DataFrame:
    """What :func:`ledger_figure` draws, one row per dataset × ae × algorithm (datasets in
    ledger order; the dense autoencoder first, algorithms in :data:`KNOWN_ALGORITHMS`' order):
    each seed's ACC and whether it is degenerate, their mean, and every distinct published ACC
    for the method (fractions)."""
    from deepclust import published
    from deepclust.evaluate import degenerate_runs

    datasets = list(dict.fromkeys(runs["dataset"]))
    order = algorithm_order(runs["algorithm"])
    groups = sorted(
        runs.groupby(["dataset", "ae", "algorithm"]),
        key=lambda g: (datasets.index(g[0][0]), g[0][1] != "dense", g[0][1], order.index(g[0][2])),
    )
    rows = []
    for (dataset, ae, algorithm), group in groups:
        found = published.lookup(dataset, algorithm, "acc")
        group = group.sort_values("seed")
        rows.append(
            {
                "dataset": dataset,
                "label": algorithm if ae == "dense" else f"{algorithm} ({ae})",
                "algorithm": algorithm,
                "seeds": group["acc"].tolist(),
                "degenerate": degenerate_runs(group).tolist(),
                "mean": group["acc"].mean(),
                "published": sorted({r.value for r in found}),
            }
        )
    return pd.DataFrame(rows)


def ledger_figure(runs: pd.DataFrame, out: str | Path) -> None:
    """A campaign's ledger at a glance: one panel per dataset, one line per method, each seed's
    ACC a dot (a cross where the run is degenerate), the mean a bar, every published ACC for that
    method and dataset a black diamond."""
    points = ledger_points(runs)
    datasets = list(dict.fromkeys(points["dataset"]))
    heights = [0.9 + 0.32 * (points["dataset"] == d).sum() for d in datasets]
    fig, axes = plt.subplots(
        len(datasets), 1, figsize=(6.5, sum(heights)), squeeze=False, sharex=True,
        gridspec_kw={"height_ratios": heights},
    )  # fmt: skip
    colors = algorithm_colors(list(points["algorithm"].unique()))
    for ax, dataset in zip(axes[:, 0], datasets, strict=True):
        rows = points[points["dataset"] == dataset].reset_index(drop=True)
        for y, row in rows.iterrows():
            color = colors[row["algorithm"]]
            acc, bad = 100 * np.asarray(row["seeds"]), np.asarray(row["degenerate"], bool)
            ax.scatter(acc[~bad], [y] * int((~bad).sum()), s=18, color=color, alpha=0.7, zorder=3)
            ax.scatter(acc[bad], [y] * int(bad.sum()), s=30, marker="x", color=color, zorder=3)
            ax.plot([100 * row["mean"]] * 2, [y - 0.3, y + 0.3], color=color, lw=2.5, zorder=2)
            paper = 100 * np.asarray(row["published"])
            ax.scatter(paper, [y] * len(paper), marker="D", s=22, facecolor="none",
                       edgecolor="black", zorder=4)  # fmt: skip
        ax.set_yticks(range(len(rows)), rows["label"])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_title(dataset, loc="left", fontsize="medium")
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("ACC (%): dots = seeds (× degenerate), bar = mean, ◇ = published")
    fig.tight_layout()
    _save(fig, out)


def pretraining_figure(histories: dict[tuple[str, int], pd.DataFrame], title: str, out) -> None:
    """Reconstruction loss against step, one panel per autoencoder, one line per seed.

    ``histories`` maps (ae, seed) to a pretraining history.csv (columns step, epoch, loss, and
    ``reconstruction`` where the loss has other terms, as ACAI's has).
    """
    aes = list(dict.fromkeys(ae for ae, _ in histories))
    fig, axes = plt.subplots(1, len(aes), figsize=(5 * len(aes), 3.4), squeeze=False)
    for ax, ae in zip(axes[0], aes, strict=True):
        seeds = sorted(seed for a, seed in histories if a == ae)
        cmap = plt.get_cmap("viridis")
        for i, seed in enumerate(seeds):
            h = histories[(ae, seed)]
            h = h.dropna(subset=[_reconstruction(h)])
            color = cmap(i / max(len(seeds) - 1, 1) * 0.85)
            ax.plot(h["step"], h[_reconstruction(h)], marker="." if len(h) < 30 else None,
                    color=color, label=f"seed {seed}")  # fmt: skip
        _log_scale_if_wide(ax, [histories[(ae, s)][_reconstruction(histories[(ae, s)])]
                                for s in seeds])  # fmt: skip
        ax.set_title(f"{title}: pretraining of '{ae}'")
        ax.set_xlabel("step (mini-batch updates)")
        ax.set_ylabel("reconstruction loss")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    _save(fig, out)


def _reconstruction(history: pd.DataFrame) -> str:
    return "reconstruction" if "reconstruction" in history else "loss"


def training_figure(history: pd.DataFrame, algorithm: str, title: str, out) -> None:
    """Left: every loss term against step. Right: fraction of labels changed per label update
    (DynAE: fraction of conflicted points, the DynAE paper's Fig. 6)."""
    color = algorithm_colors([algorithm])[algorithm]
    terms = [c for c in history.columns if c not in HISTORY_KEYS]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    styles = ["-", "--", ":", "-."]
    drawn = []
    for i, term in enumerate(terms):
        h = history.dropna(subset=[term])
        if h.empty:
            continue
        left.plot(h["step"], h[term], styles[i % len(styles)], color=color, label=term,
                  marker="." if len(h) < 30 else None)  # fmt: skip
        drawn.append(h[term])
    if drawn:
        _log_scale_if_wide(left, drawn)
        left.legend(frameon=False, fontsize="small")
    else:
        _no_data(left, f"{algorithm} has no training steps")
    left.set_title(f"{title}: loss")
    left.set_xlabel("step (mini-batch updates)")
    left.set_ylabel("loss")
    left.grid(alpha=0.3)

    column, what = "delta_label", "labels changed"
    if "conflicted_fraction" in history:
        column, what = "conflicted_fraction", "conflicted points"
    h = history.dropna(subset=[column]) if column in history else history.iloc[:0]
    if h.empty:
        _no_data(right, f"{algorithm} makes no label updates")
    else:
        right.plot(h["step"], 100 * h[column], marker="o", markersize=3, color=color)
        right.set_ylim(bottom=0)
    right.set_title(f"{title}: {what} per update")
    right.set_xlabel("step (mini-batch updates)")
    right.set_ylabel(f"{what} (%)")
    right.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, out)


def embed_2d(embedding: np.ndarray, seed: int = 0) -> tuple[np.ndarray, str]:
    """A 2-D view of ``embedding`` (UMAP, else t-SNE if umap-learn is missing); its method name."""
    embedding = np.asarray(embedding, dtype=np.float32)
    if embedding.shape[1] <= 2:
        return np.pad(embedding, ((0, 0), (0, 2 - embedding.shape[1]))), "embedding"
    try:
        import umap
    except ImportError:  # pragma: no cover - umap-learn is a dependency
        from sklearn.manifold import TSNE

        log.warning("umap-learn is not installed; using t-SNE for the 2-D view")
        perplexity = min(30.0, (len(embedding) - 1) / 3)
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        return tsne.fit_transform(embedding), "t-SNE"
    cache_umap_compilation()
    n_neighbors = min(15, len(embedding) - 1)
    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, random_state=seed)
    with warnings.catch_warnings():  # "n_jobs overridden by setting random_state": intended
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        return reducer.fit_transform(embedding), "UMAP"


def subsample(n: int, max_points: int = MAX_EMBEDDING_POINTS, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` samples, the same for the same seed."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def embedding_figure(
    embedding: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, title: str, out, seed: int = 0
) -> None:
    """The embedding in 2-D, coloured by true class (left) and by predicted cluster (right).

    A cluster gets the colour of the class Hungarian matching assigns it to, so points whose
    colour differs between the panels are the misclustered ones.
    """
    idx = subsample(len(embedding), seed=seed)
    xy, method = embed_2d(np.asarray(embedding)[idx], seed=seed)
    y_true, y_pred = np.asarray(y_true)[idx], np.asarray(y_pred)[idx]
    n_classes = int(max(y_true.max(), y_pred.max())) + 1
    colors = class_colors(n_classes)
    mapping = metrics.hungarian_mapping(y_true, y_pred)
    matched = np.array([mapping.get(int(c), int(c)) for c in y_pred])
    unmatched = np.array([int(c) not in mapping for c in y_pred])
    size = max(2.0, min(12.0, 20000 / len(xy)))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    for ax, labels, name in ((axes[0], y_true, "true class"), (axes[1], matched, "cluster")):
        ax.scatter(xy[:, 0], xy[:, 1], c=colors[labels], s=size, linewidths=0, alpha=0.8)
        if name == "cluster" and unmatched.any():  # more clusters than classes
            ax.scatter(*xy[unmatched].T, c="black", marker="x", s=size, label="unmatched")
            ax.legend(frameon=False, fontsize="small")
        ax.set_title(f"{title}\ncoloured by {name}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{method} 1")
        ax.set_ylabel(f"{method} 2")
    acc = metrics.acc(y_true, y_pred)
    note = f"{len(xy):,} of {len(embedding):,} points" if len(xy) < len(embedding) else ""
    handles = [
        plt.Line2D([], [], marker="o", ls="", color=colors[k], label=str(k))
        for k in range(int(y_true.max()) + 1)
    ]
    fig.legend(handles=handles, title="class", loc="center left", bbox_to_anchor=(1.0, 0.5),
               frameon=False, fontsize="small", ncol=1 if len(handles) <= 20 else 2)  # fmt: skip
    fig.text(0.5, 0.0, f"clusters take the colour of their Hungarian-matched class; "
             f"ACC {100 * acc:.1f}%  {note}", ha="center", fontsize="small")  # fmt: skip
    fig.tight_layout()
    _save(fig, out)


def confusion_figure(y_true: np.ndarray, y_pred: np.ndarray, title: str, out) -> None:
    """Row-normalised confusion matrix: true class × cluster, clusters ordered by matched class.

    After Hungarian matching the diagonal holds the correctly clustered fraction of each class,
    and its mass is the ACC.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    counts = metrics.confusion(y_true, y_pred).T  # (classes, clusters)
    mapping = metrics.hungarian_mapping(y_true, y_pred)
    clusters = sorted(range(counts.shape[1]), key=lambda c: (mapping.get(c, 10**9), c))
    counts = counts[:, clusters]
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    n_classes, n_clusters = counts.shape
    side = min(9.0, max(4.0, 0.45 * max(n_classes, n_clusters) + 2))
    fig, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    if max(n_classes, n_clusters) <= 20:
        for i in range(n_classes):
            for j in range(n_clusters):
                if counts[i, j]:
                    white = fractions[i, j] > 0.6
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center",
                            fontsize=7 if n_clusters > 12 else 8,
                            color="white" if white else "black")  # fmt: skip
    ax.set_xticks(range(n_clusters), [_cluster_name(c, mapping) for c in clusters],
                  rotation=90 if n_clusters > 12 else 0)  # fmt: skip
    ax.set_yticks(range(n_classes), [str(k) for k in range(n_classes)])
    ax.set_xlabel("predicted cluster (→ matched class)")
    ax.set_ylabel("true class")
    acc = metrics.acc(y_true, y_pred)
    ax.set_title(f"{title}\nACC {100 * acc:.1f}% (diagonal after Hungarian matching)")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    fig.tight_layout()
    _save(fig, out)


def _cluster_name(cluster: int, mapping: dict[int, int]) -> str:
    return f"{cluster}→{mapping[cluster]}" if cluster in mapping else f"{cluster}"


def _log_scale_if_wide(ax, series: list[pd.Series]) -> None:
    """A log y-axis when positive values span more than two decades."""
    values = pd.concat([s.dropna() for s in series]) if series else pd.Series(dtype=float)
    if len(values) and (values > 0).all() and values.max() / values.min() > 100:
        ax.set_yscale("log")


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])
