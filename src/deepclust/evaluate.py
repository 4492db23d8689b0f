"""The evaluate and summarize stages: score each run, aggregate over seeds into tables."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust import io, metrics, paths

log = logging.getLogger("deepclust")

METRIC_COLUMNS = ["acc", "nmi", "ari"]


def degenerate_runs(runs: pd.DataFrame) -> pd.Series:
    """Which runs are degenerate: marked so by the fit stage (``on_degenerate: warn``) or, for
    a method given k (not DDC, which finds its own number), with fewer clusters found than the
    dataset has (a run made before the fit stage checked)."""
    symptoms = runs["degenerate"] if "degenerate" in runs else pd.Series(index=runs.index)
    marked = symptoms.notna() & (symptoms.astype(str) != "")  # empty, or NaN read from a CSV
    short = runs["n_clusters_found"] < runs["n_clusters"] if "n_clusters" in runs else False
    if np.any(short):  # only then the registry (and torch, which summarize otherwise skips)
        from deepclust.algorithms import registry

        known = registry()
        given_k = ~runs["algorithm"].map(lambda a: a in known and known[a].chooses_k)
        marked = marked | (given_k & short)
    return pd.Series(marked, index=runs.index, dtype=bool)


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (ddof=1; 0 for one seed) per dataset × ae × algorithm, and
    the number of degenerate runs among them."""
    keys = ["dataset", "ae", "algorithm"]
    columns = [*METRIC_COLUMNS, "runtime_s"]
    grouped = runs.groupby(keys, sort=False)[columns]
    mean = grouped.mean().add_suffix("_mean")
    std = grouped.std(ddof=1).fillna(0.0).add_suffix("_std")
    n = grouped.size().rename("n_seeds")
    bad = degenerate_runs(runs).groupby([runs[k] for k in keys], sort=False).sum()
    return pd.concat([mean, std, n, bad.rename("n_degenerate")], axis=1).reset_index()


def markdown_table(summary: pd.DataFrame) -> str:
    """dataset × algorithm rows with ACC/NMI/ARI as mean ± std (in %), best ACC per dataset bold."""
    lines = [
        "| dataset | ae | algorithm | ACC (%) | NMI (%) | ARI (%) | seeds | time (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    best = summary.groupby("dataset")["acc_mean"].transform("max")
    flagged = []
    for _, row in summary.iterrows():
        cells = [
            f"{100 * row[f'{m}_mean']:.1f} ± {100 * row[f'{m}_std']:.1f}" for m in METRIC_COLUMNS
        ]
        if row["acc_mean"] == best[_]:
            cells[0] = f"**{cells[0]}**"
        name = row["algorithm"]
        n_bad = int(row.get("n_degenerate", 0))
        if n_bad:
            name += " ⚠"
            flagged.append(f"{row['dataset']}/{row['ae']}/{row['algorithm']}: {n_bad}")
        lines.append(
            f"| {row['dataset']} | {row['ae']} | {name} | "
            + " | ".join(cells)
            + f" | {int(row['n_seeds'])} | {row['runtime_s_mean']:.1f} |"
        )
    if flagged:
        lines += [
            "",
            "⚠ degenerate runs (fewer clusters found than the data have, or marked by the fit "
            "stage under `on_degenerate: warn`; see runs.csv): " + ", ".join(flagged) + ".",
        ]
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


def evaluate_run(run_dir: Path, data: Path, out: Path, key: paths.RunKey) -> None:
    """Score a run's own labels against the ground truth; write metrics.json."""
    result = io.read_npz(Path(run_dir) / paths.name(paths.RUN_RESULT))
    arrays = io.read_prepared(data)
    scores = metrics.score(arrays["y"], result["labels"])
    symptoms = str(result["degenerate"]) if "degenerate" in result else ""
    if symptoms:
        log.warning("%s is degenerate: %s", key, symptoms)
    io.write_json(
        out,
        {
            **key.__dict__,
            **scores,
            "n_clusters": int(arrays["n_clusters"]),
            "n_clusters_found": int(np.unique(result["labels"]).size),
            "degenerate": symptoms,
            "runtime_s": float(result["runtime_s"]),
            "threads": int(result["threads"]) if "threads" in result else None,
            **run_record(result),
        },
    )
    log.info("%s: %s", key, {k: round(v, 4) for k, v in scores.items()})


RUN_FIELDS = ["device", "device_name", "torch", "cuda", "host", "slurm_job_id", "gpus_given"]


def run_record(result: dict) -> dict:
    """Where the fit ran (``provenance.device_record``, saved in result.npz), one key per field;
    None for a run saved before deepclust recorded it."""
    run = json.loads(str(result["run"])) if "run" in result else {}
    return {field: run.get(field) for field in RUN_FIELDS}


def summarize(config: dict, root: Path, out_dir: Path) -> pd.DataFrame:
    """Collect every run's metrics.json that ``config`` asks for; write the tables."""
    files = paths.metrics_files(config, root)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} runs have no metrics yet, e.g. {missing[0]} (under DVC: dvc.yaml "
            "lists the runs of the config it was made for; run `deepclust dvc-yaml`)"
        )
    runs = pd.DataFrame([io.read_json(f) for f in files])
    summary = aggregate(runs)
    out_dir = Path(out_dir)
    io.write_csv(out_dir / Path(paths.RUNS_CSV).name, runs)
    io.write_csv(out_dir / Path(paths.SUMMARY_CSV).name, summary)
    io.write_text(out_dir / Path(paths.SUMMARY_MD).name, markdown_table(summary))
    io.write_json(out_dir / Path(paths.METRICS).name, metrics_json(summary))
    return summary
