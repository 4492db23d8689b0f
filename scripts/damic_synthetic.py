"""DAMIC's synthetic experiment (paper 004, Sec. 3.5.1, Table 2, Fig. 2): AE+k-means vs DAMIC.

The data are ``damic_synthetic`` (Eq. 8, 4,000 × 100, 4 clusters). As in the paper, the shared
autoencoder is 100-50-10-2 (our end-to-end MSE pretraining, 50 epochs, Adam), k-means (20
restarts) on its embedding gives AE+k-means and DAMIC's initial labels, and DAMIC runs with the
paper's settings (``preset: paper``: experts 100-1024-256-4-256-1024-100, clustering network
100-512-512-softmax(4)). The paper writes "512, 512, 2" for this experiment's clustering network
and plots a 2-D h(x) (Fig. 2e); ``--classifier-hidden 512 512 2`` tries that reading. Prints
ACC/NMI/ARI per seed and their means, and saves a figure of the data (its 2-D PCA) coloured by
each method's labels. For the points AE+k-means misclusters it also prints, after DAMIC, their
reconstruction distance d under the expert of their class and under the expert they were given:
when the second is far smaller, exp(−d) in Eq. 3 holds them where k-means put them.

    .venv/bin/python scripts/damic_synthetic.py damic_synthetic.png [--seeds 0 1 2] [--fast]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.decomposition import PCA

from deepclust import metrics
from deepclust.algorithms import damic
from deepclust.algorithms.base import ClusteringResult
from deepclust.data.registry import get
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import embed
from deepclust.models.damic import Experts
from deepclust.models.pretrain import pretrain
from deepclust.seeding import seed_everything

AUTOENCODER = {  # the paper's DAE for this experiment: 100-50-10-2, decoder mirrored
    "hidden": [50, 10],
    "embedding_dim": 2,
    "epochs": 50,
    "batch_size": 256,
    "optimizer": "adam",
    "lr": 0.001,
}


def run(X: torch.Tensor, k: int, seed: int, params: damic.DAMICParams) -> dict:
    """AE+k-means and DAMIC labels for one seed, with the run times."""
    generator = seed_everything(seed)
    start = time.perf_counter()
    ae, _ = pretrain(AUTOENCODER, X, generator=generator, progress=False)
    init = kmeans_init(embed(ae, X).numpy(), k, n_init=20, max_iter=300, seed=seed)
    aekm_s = time.perf_counter() - start
    start = time.perf_counter()
    result = damic.fit(ae, X, init, params, generator=generator, progress=False)
    return {
        "aekm": init.labels,
        "damic": result.labels,
        "distances": expert_distances(X, k, result, params),
        "aekm_s": aekm_s,
        "damic_s": time.perf_counter() - start,
    }


@torch.no_grad()
def expert_distances(
    X: torch.Tensor, k: int, result: ClusteringResult, params: damic.DAMICParams
) -> np.ndarray:
    """d(x, f_i(x)) of every point under every trained expert, (n, k), in evaluation mode."""
    sigmoid = result.state["output"] == "sigmoid"
    experts = Experts.for_params(X.shape[1], k, params, sigmoid)
    experts.load_state_dict(result.state["experts"])
    experts.eval()
    return damic.reconstruction_distances(X, experts(X)).numpy()


def lock_in(y: np.ndarray, init_labels: np.ndarray, distances: np.ndarray) -> str:
    """Median d of the points the initial labels miscluster, under their class's expert (the
    initial cluster matched to their class) and under the expert they were given."""
    to_class = metrics.hungarian_mapping(y, init_labels)
    to_cluster = {c: i for i, c in to_class.items()}
    matched = np.array([to_class.get(int(c), -1) for c in init_labels])
    wrong = np.flatnonzero(matched != y)
    if not wrong.size:
        return "no point misclustered by the initial labels"
    own = distances[wrong, [to_cluster[int(t)] for t in y[wrong]]]
    given = distances[wrong, init_labels[wrong]]
    return (
        f"{wrong.size} points misclustered at init: median d under their class's expert "
        f"{np.median(own):.3g}, under their given expert {np.median(given):.3g}; "
        f"{np.mean(own < given):.0%} closer to their class's"
    )


def figure(X: np.ndarray, y: np.ndarray, labels: dict[str, np.ndarray], out: str) -> None:
    """The data's 2-D PCA, one panel per method; clusters take the colour of their matched
    class and misclustered points are crossed."""
    xy = PCA(n_components=2, svd_solver="full").fit_transform(X)
    colors = plt.get_cmap("tab10")(np.arange(10))
    fig, axes = plt.subplots(1, len(labels), figsize=(5 * len(labels), 4.6))
    for ax, (name, pred) in zip(axes, labels.items(), strict=True):
        mapping = metrics.hungarian_mapping(y, pred)
        matched = np.array([mapping.get(int(c), int(c)) for c in pred])
        wrong = matched != y
        ax.scatter(*xy.T, c=colors[matched % 10], s=4, linewidths=0)
        ax.scatter(*xy[wrong].T, c="black", marker="x", s=8, linewidths=0.6, label="misclustered")
        ax.set_title(
            f"{name}: ACC {metrics.acc(y, pred):.3f}, NMI {metrics.nmi(y, pred):.3f}, "
            f"ARI {metrics.ari(y, pred):.3f}"
        )
        ax.set_xlabel("PCA 1")
        ax.set_ylabel("PCA 2")
        ax.legend(frameon=False, fontsize="small", loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure", help="where to save the 2-panel PNG (first seed)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--fast", action="store_true", help="DAMIC's fast preset")
    parser.add_argument("--classifier-hidden", type=int, nargs="+", help="h(x) widths")
    args = parser.parse_args()
    X, y = get("damic_synthetic").load(None)
    overrides = dict(damic.FAST) if args.fast else {}
    if args.classifier_hidden:
        overrides["classifier_hidden"] = tuple(args.classifier_hidden)
    params = damic.DAMICParams(**overrides)
    print(f"damic_synthetic: {X.shape}, DAMIC {dataclasses.asdict(params)}")
    scores: dict[str, list[dict]] = {"aekm": [], "damic": []}
    for i, seed in enumerate(args.seeds):
        out = run(torch.from_numpy(X), 4, seed, params)
        for name in scores:
            scores[name].append(metrics.score(y, out[name]))
            s = scores[name][-1]
            print(
                f"seed {seed} {name:5s} ACC {s['acc']:.4f} NMI {s['nmi']:.4f} "
                f"ARI {s['ari']:.4f} ({out[name + '_s']:.0f} s)"
            )
        print(f"seed {seed} {lock_in(y, out['aekm'], out['distances'])}")
        if i == 0:
            figure(X, y, {"AE+k-means": out["aekm"], "DAMIC": out["damic"]}, args.figure)
    for name, rows in scores.items():
        mean = {m: np.mean([r[m] for r in rows]) for m in rows[0]}
        print(f"mean  {name:5s} " + " ".join(f"{m.upper()} {v:.4f}" for m, v in mean.items()))


if __name__ == "__main__":
    main()
