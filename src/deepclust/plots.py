"""Figures: metrics per algorithm and dataset with error bars over seeds."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from deepclust.evaluate import METRIC_COLUMNS
from deepclust.io import atomic_path


def algorithm_colors(algorithms: list[str]) -> dict[str, tuple]:
    """One fixed colour per algorithm, the same in every figure."""
    cmap = plt.get_cmap("tab10")
    return {name: cmap(i % 10) for i, name in enumerate(sorted(algorithms))}


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
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
