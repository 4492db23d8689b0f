"""Score runs and aggregate them over seeds into the summary tables."""

from __future__ import annotations

import pandas as pd

METRIC_COLUMNS = ["acc", "nmi", "ari"]


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (ddof=1; 0 for one seed) per dataset × ae × algorithm."""
    keys = ["dataset", "ae", "algorithm"]
    columns = [*METRIC_COLUMNS, "runtime_s"]
    grouped = runs.groupby(keys, sort=False)[columns]
    mean = grouped.mean().add_suffix("_mean")
    std = grouped.std(ddof=1).fillna(0.0).add_suffix("_std")
    n = grouped.size().rename("n_seeds")
    return pd.concat([mean, std, n], axis=1).reset_index()


def markdown_table(summary: pd.DataFrame) -> str:
    """dataset × algorithm rows with ACC/NMI/ARI as mean ± std (in %), best ACC per dataset bold."""
    lines = [
        "| dataset | ae | algorithm | ACC (%) | NMI (%) | ARI (%) | seeds | time (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    best = summary.groupby("dataset")["acc_mean"].transform("max")
    for _, row in summary.iterrows():
        cells = [
            f"{100 * row[f'{m}_mean']:.1f} ± {100 * row[f'{m}_std']:.1f}" for m in METRIC_COLUMNS
        ]
        if row["acc_mean"] == best[_]:
            cells[0] = f"**{cells[0]}**"
        lines.append(
            f"| {row['dataset']} | {row['ae']} | {row['algorithm']} | "
            + " | ".join(cells)
            + f" | {int(row['n_seeds'])} | {row['runtime_s_mean']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def metrics_json(summary: pd.DataFrame) -> dict:
    """Nested ``{dataset: {ae/algorithm: {acc_mean: …}}}`` for ``dvc metrics show``."""
    out: dict = {}
    for _, row in summary.iterrows():
        values = {
            f"{m}_{s}": round(float(row[f"{m}_{s}"]), 6)
            for m in [*METRIC_COLUMNS, "runtime_s"]
            for s in ("mean", "std")
        }
        out.setdefault(row["dataset"], {})[f"{row['ae']}/{row['algorithm']}"] = values
    return out
