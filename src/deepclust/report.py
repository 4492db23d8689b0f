"""The report stages: figures, tables and plot data from the runs and the summary.

``plot_run`` draws one run's figures (embedding, confusion matrix, training curves) and writes
the small CSVs that ``dvc plots`` reads; ``report`` draws the summary-level figures (metrics per
algorithm, pretraining curves per dataset) and writes the results table, in Markdown and in
HTML, with the published number beside each of ours (:mod:`deepclust.published`).
"""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from deepclust import io, metrics, paths, plots, published
from deepclust.evaluate import METRIC_COLUMNS

log = logging.getLogger("deepclust")


def plot_run(
    run_dir: Path,
    data: Path,
    out_dir: Path,
    key: paths.RunKey,
    curve: Path | None = None,
    predictions: Path | None = None,
) -> None:
    """One run's figures into ``out_dir``; its curve and predictions CSVs for ``dvc plots``."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    result = io.read_npz(run_dir / Path(paths.RUN_RESULT).name)
    history = pd.read_csv(run_dir / Path(paths.RUN_HISTORY).name)
    y = io.read_npz(data)["y"]
    labels = result["labels"]
    title = f"{key.dataset} · {key.algorithm} · seed {key.seed}"
    plots.training_figure(history, key.algorithm, title, out_dir / Path(paths.TRAINING_FIGURE).name)
    plots.confusion_figure(y, labels, title, out_dir / Path(paths.CONFUSION_FIGURE).name)
    plots.embedding_figure(
        result["embedding"],
        y,
        labels,
        title,
        out_dir / Path(paths.EMBEDDING_FIGURE).name,
        seed=key.seed,
    )
    if curve is not None:
        counts = ["epoch", "n_changed", "n_clusters_found"]
        io.write_csv(curve, history.drop(columns=counts, errors="ignore"))
    if predictions is not None:
        mapping = metrics.hungarian_mapping(y, labels)
        matched = np.array([mapping.get(int(c), -1) for c in labels])  # -1: an extra cluster
        io.write_csv(predictions, pd.DataFrame({"actual": y, "predicted": matched}))
    log.info("%s: figures in %s", key, out_dir)


def report(summary_csv: Path, out_dir: Path, root: Path = Path(".")) -> None:
    """Summary figures, pretraining curves and the results table (Markdown and HTML).

    The pretraining histories are found from ``runs.csv`` beside the summary, under ``root``.
    """
    summary_csv, out_dir, root = Path(summary_csv), Path(out_dir), Path(root)
    summary = pd.read_csv(summary_csv)
    as_text = dict.fromkeys(["torch", "cuda", "slurm_job_id", "host", "gpus_given"], str)
    runs = pd.read_csv(summary_csv.parent / Path(paths.RUNS_CSV).name, dtype=as_text)
    figure = out_dir / "figures" / Path(paths.METRICS_FIGURE).name
    plots.metrics_figure(summary, figure)

    pretraining = []
    for dataset in dict.fromkeys(summary["dataset"]):
        keys = runs[runs["dataset"] == dataset][["ae", "seed"]].drop_duplicates()
        histories = {}
        for ae, seed in keys.itertuples(index=False):
            fields = {"dataset": dataset, "ae": ae, "seed": int(seed)}
            history = pd.read_csv(root / paths.AE_HISTORY.format(**fields))
            histories[(ae, int(seed))] = history
            curve = out_dir / Path(paths.PRETRAIN_CURVE.format(**fields)).relative_to(paths.RESULTS)
            io.write_csv(curve, history[["step", "loss"]])
        path = out_dir / Path(paths.PRETRAIN_FIGURE.format(dataset=dataset)).relative_to(
            paths.RESULTS
        )
        plots.pretraining_figure(histories, dataset, path)
        pretraining.append(path)

    table = results_table(summary)
    io.write_text(out_dir / Path(paths.REPORT_TABLE).name, html_table(table))
    text = (
        "# deepclust results\n\n"
        + markdown_table(table)
        + "\n"
        + FOOTNOTE
        + "\n\n"
        + where_table(runs)
        + f"\n![metrics per algorithm]({figure.relative_to(out_dir)})\n"
        + "".join(f"\n![pretraining]({p.relative_to(out_dir)})\n" for p in pretraining)
    )
    io.write_text(out_dir / Path(paths.REPORT).name, text)


FOOTNOTE = (
    "Scores in % as mean ± std over seeds; **bold**: the best of a dataset for that metric. "
    "*paper*: the published number for the same method and dataset "
    "(deepclust.published; `*` = copied by the DEKM paper from the method's own paper); "
    "— = none published. Time: mean run time of the refinement in seconds."
)


WHERE_COLUMNS = ["device", "device_name", "torch", "cuda", "gpus_given"]


def where_table(runs: pd.DataFrame) -> str:
    """Where the refinements ran (metrics.json's ``evaluate.RUN_FIELDS``): one row per device,
    its name, torch and CUDA versions and the GPUs the job was given, with the number of runs,
    the hosts and the Slurm jobs; a CPU row with GPUs given (a fallback, or `device: cpu` in a
    GPU job) is marked: the GPU idled."""
    if "device" not in runs:
        return ""
    runs = runs.astype({c: object for c in [*WHERE_COLUMNS, "host", "slurm_job_id"] if c in runs})
    runs = runs.fillna("—")
    lines = [
        "## Where the refinements ran\n",
        "| device | name | torch | CUDA | GPUs given | runs | hosts | Slurm jobs |",
        "|" + " --- |" * 8,
    ]
    for values, group in runs.groupby(WHERE_COLUMNS, sort=False):
        jobs = sorted({str(j) for j in group["slurm_job_id"] if j != "—"})
        shown = ", ".join(jobs[:5]) + (f" and {len(jobs) - 5} more" if len(jobs) > 5 else "")
        hosts = ", ".join(sorted({str(h) for h in group["host"]}))
        device, name, torch, cuda, given = map(str, values)
        if device == "cpu" and given != "—":
            device += " ⚠ GPU unused"
        cells = [device, name, torch, cuda, given, str(len(group)), hosts, shown or "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def results_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset × ae × algorithm: our cells, the paper's cells and the best flags."""
    rows = []
    for _, s in summary.iterrows():
        n_bad = int(s.get("n_degenerate", 0))  # marked, as in summary.md
        algorithm = f"{s['algorithm']} ⚠ {n_bad} degenerate" if n_bad else s["algorithm"]
        row = {"dataset": s["dataset"], "ae": s["ae"], "algorithm": algorithm}
        for m in METRIC_COLUMNS:
            row[m] = _mean_std(100 * s[f"{m}_mean"], 100 * s[f"{m}_std"], s["n_seeds"])
            ref = published.reference(s["dataset"], s["algorithm"], m)
            row[f"{m}_paper"] = f"{100 * ref.value:.1f}" if ref else "—"
            row[f"{m}_source"] = _source(s["dataset"], s["algorithm"], m) if ref else ""
            best = summary.loc[summary["dataset"] == s["dataset"], f"{m}_mean"].max()
            row[f"{m}_best"] = bool(np.isclose(s[f"{m}_mean"], best))
        row["seeds"] = int(s["n_seeds"])
        row["time"] = _mean_std(s["runtime_s_mean"], s["runtime_s_std"], s["n_seeds"])
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_std(mean: float, std: float, n_seeds: int) -> str:
    """ "mean ± std" over seeds; one seed has no spread to show."""
    return f"{mean:.1f}" if n_seeds == 1 else f"{mean:.1f} ± {std:.1f}"


def _source(dataset: str, algorithm: str, metric: str) -> str:
    """Every published number as 'printed (source)', the chosen one first."""
    ref = published.reference(dataset, algorithm, metric)
    others = [r for r in published.lookup(dataset, algorithm, metric) if r != ref]
    return "; ".join(f"{r.printed} ({r.source})" for r in [ref, *others])


HEADER = ["dataset", "ae", "algorithm"]
COLUMNS = [c for m in METRIC_COLUMNS for c in (m, f"{m}_paper")]
TITLES = {m: f"{m.upper()} (%)" for m in METRIC_COLUMNS} | {
    f"{m}_paper": "paper" for m in METRIC_COLUMNS
}


def markdown_table(table: pd.DataFrame) -> str:
    titles = [*HEADER, *(TITLES[c] for c in COLUMNS), "seeds", "time (s)"]
    lines = ["| " + " | ".join(titles) + " |", "|" + " --- |" * len(titles)]
    for _, r in table.iterrows():
        cells = [str(r[c]) for c in HEADER]
        for m in METRIC_COLUMNS:
            cells += [f"**{r[m]}**" if r[f"{m}_best"] else r[m], r[f"{m}_paper"]]
        cells += [str(r["seeds"]), r["time"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def html_table(table: pd.DataFrame) -> str:
    """A self-contained HTML page with the results table (the Snakemake report embeds it)."""
    e = html.escape
    head = "".join(f"<th>{e(t)}</th>" for t in HEADER)
    head += "".join(f'<th class="{"paper" if c.endswith("_paper") else ""}">{e(TITLES[c])}</th>'
                    for c in COLUMNS)  # fmt: skip
    head += "<th>seeds</th><th>time (s)</th>"
    body = []
    for _, r in table.iterrows():
        cells = "".join(f"<td>{e(str(r[c]))}</td>" for c in HEADER)
        for m in METRIC_COLUMNS:
            best = ' class="best"' if r[f"{m}_best"] else ""
            cells += f"<td{best}>{e(r[m])}</td>"
            cells += f'<td class="paper" title="{e(r[f"{m}_source"])}">{e(r[f"{m}_paper"])}</td>'
        cells += f"<td>{r['seeds']}</td><td>{e(r['time'])}</td>"
        body.append(f"<tr>{cells}</tr>")
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>deepclust results</title>
<style>
body {{ font-family: sans-serif; font-size: 14px; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
th:nth-child(-n+3), td:nth-child(-n+3) {{ text-align: left; }}
.paper {{ color: #666; font-style: italic; }}
.best {{ font-weight: bold; background: #e8f0fe; }}
</style></head><body>
<table id="results">
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody></table>
<p>{e(FOOTNOTE).replace("**bold**", "<b>bold</b>")}
Hover over a paper number to see every published value and its source.</p>
</body></html>
"""


def _describe_autoencoder(ae: dict) -> str:
    """``d-256-256-512-10, 50 epochs end_to_end`` or ``conv 32-64-128-10, …, augmented``."""
    widths = ae["channels"] if ae.get("kind") == "conv" else ae["hidden"]
    shape = f"{'conv ' if ae.get('kind') == 'conv' else 'd-'}{'-'.join(map(str, widths))}"
    extra = ", augmented" if ae.get("augment") else ""
    return (
        f"{shape}-{ae['embedding_dim']}, {ae['epochs']} epochs "
        f"{ae.get('pretraining', 'end_to_end')}{extra}"
    )


def _pretraining_seconds(workdir: Path, cfg: dict) -> dict[tuple[str, str], float]:
    """Mean pretraining wall time per (dataset, autoencoder), from the saved ae.pt files."""
    times: dict[tuple[str, str], list[float]] = {}
    for key in paths.runs({**cfg, "algorithms": {"-": {}}}):
        model = io.load_torch(workdir / key.fmt(paths.AE_MODEL))
        times.setdefault((key.dataset, key.ae), []).append(float(model["runtime_s"]))
    return {k: float(np.mean(v)) for k, v in times.items()}


def results_document(
    workdirs: list[Path], notes: Path | None, out: Path, ledgers: tuple[Path, ...] = ()
) -> None:
    """``docs/results.md``: each campaign ledger's table (``deepclust.ledger``), then each
    finished workdir's results table beside the papers' numbers, the machine it ran on, and
    the notes file (the hand-written explanations) verbatim."""
    import platform

    import torch

    from deepclust import ledger

    parts = [
        "# Measured results\n\n"
        "Generated by `bash scripts/results.sh` (do not edit by hand) on "
        f"{pd.Timestamp.now():%Y-%m-%d}, {platform.machine()} with {os.cpu_count()} cores, "
        f"torch {torch.__version__}, device: CPU.\n\n" + FOOTNOTE + "\n"
    ]
    parts += [ledger.section(Path(book), out) + "\n" for book in ledgers]
    for workdir in map(Path, workdirs):
        cfg = yaml.safe_load((workdir / "config.yaml").read_text())
        aes = "; ".join(
            f"`{name}`: {_describe_autoencoder(ae)}" for name, ae in cfg["autoencoders"].items()
        )
        presets = ", ".join(
            f"{a} ({p.get('preset', 'paper')})" for a, p in cfg["algorithms"].items()
        )
        summary = pd.read_csv(workdir / paths.SUMMARY_CSV)
        parts.append(
            f"\n## `{workdir.name}`\n\nDatasets {', '.join(cfg['datasets'])}; seeds "
            f"{cfg['seeds']}; autoencoder {aes}; algorithms {presets}.\n\n"
            + markdown_table(results_table(summary))
            + "\nPretraining time (mean over seeds): "
            + ", ".join(
                f"{dataset}/{ae} {seconds:.0f} s"
                for (dataset, ae), seconds in _pretraining_seconds(workdir, cfg).items()
            )
            + ".\n"
        )
    if notes is not None:
        parts.append("\n" + Path(notes).read_text())
    io.write_text(out, "".join(parts))
