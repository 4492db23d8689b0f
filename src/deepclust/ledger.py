"""A campaign's ledger: the finished runs of a long reproduction, kept in one committed CSV.

A CPU reproduction of the published tables (``configs/reproduce-cpu.yaml``) takes longer than
one working session and may run on several machines. ``collect`` adds every finished run of a
workdir to the ledger (one row per dataset × ae × algorithm × seed, with its scores, what was
degenerate about it, its run times and what produced it: the settings it ran with, deepclust's
and torch's versions, the host and the date), so that the results table grows across sessions
and each number keeps its provenance (torch, device and host as the run's metrics record them,
so a run collected on another machine than it ran on keeps its own). A rerun of the same run
replaces its row. ``pending`` lists the runs a ledger still lacks, so that a campaign resumed
in a fresh checkout reruns none that it already holds. A degenerate run kept under
``on_degenerate: warn`` counts in the means and is marked: a campaign reports every seed it
ran.
``section`` renders the ledger as the results table of ``docs/results.md``, between markers
that ``write_section`` replaces in place, under its figure (``figure``: each seed's ACC beside
the published numbers, a PNG beside the CSV, which ``collect`` redraws).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd

from deepclust import io, paths
from deepclust.evaluate import aggregate
from deepclust.provenance import environment
from deepclust.settings import for_dataset

KEY = ["dataset", "ae", "algorithm", "seed"]
# A ledger's section title in docs/results.md, by the ledger's file name (else the name).
TITLES = {
    "reproduce-cpu": "CPU reproduction (configs/reproduce-cpu.yaml and its USPS companions)",
    "survey": (
        "The survey's other methods (configs/survey.yaml: `fast` presets on digits and "
        "MNIST-test; configs/survey-cpu.yaml and survey-cpu-mnist.yaml: `paper` presets on "
        "USPS and MNIST-full)"
    ),
}


def collect(config: dict, workdir: Path, ledger: Path) -> pd.DataFrame:
    """Add the runs of ``config`` that have finished in ``workdir`` to ``ledger`` and redraw
    its :func:`figure`; return the ledger."""
    import torch

    from deepclust import __version__

    workdir = Path(workdir)
    rows = []
    for key in paths.runs(config):
        metrics_file = workdir / key.fmt(paths.RUN_METRICS)
        if not metrics_file.is_file():
            continue
        metrics = io.read_json(metrics_file)
        ae = io.load_torch(workdir / key.fmt(paths.AE_MODEL))
        rows.append(
            {
                **{k: metrics[k] for k in (*KEY, "acc", "nmi", "ari", "n_clusters_found")},
                "n_clusters": metrics.get("n_clusters"),
                "degenerate": metrics.get("degenerate") or "",
                "runtime_s": metrics["runtime_s"],
                "pretrain_runtime_s": float(ae["runtime_s"]),
                "settings_sha256": settings_digest(config, key),
                "deepclust": __version__,
                # Where the run computed, as its metrics record it (a run made before they did:
                # this machine, where campaigns were collected until then).
                "torch": metrics.get("torch") or torch.__version__,
                "device": metrics.get("device_name") or "",
                "scikit_learn": environment()["scikit-learn"],
                "host": metrics.get("host") or platform.node(),
                "date": f"{pd.Timestamp.fromtimestamp(metrics_file.stat().st_mtime):%Y-%m-%d}",
            }
        )
    new = pd.DataFrame(rows)
    old = pd.read_csv(ledger) if Path(ledger).is_file() else pd.DataFrame(columns=new.columns)
    merged = pd.concat([old, new], ignore_index=True).drop_duplicates(KEY, keep="last")
    merged = merged.sort_values(KEY, kind="stable").reset_index(drop=True)
    io.write_csv(ledger, merged)
    from deepclust.plots import ledger_figure

    ledger_figure(merged, figure(ledger))
    return merged


def settings_digest(config: dict, key: paths.RunKey) -> str:
    """What ``config`` runs ``key`` with (its autoencoder, algorithm and k-means blocks as they
    apply to the key's dataset), hashed: the ledger's ``settings_sha256``."""
    return _digest(
        {
            "autoencoder": for_dataset(config["autoencoders"][key.ae], key.dataset),
            "algorithm": for_dataset(config["algorithms"][key.algorithm], key.dataset),
            "init": config["init"],
        }
    )


def pending(
    config: dict, ledger: Path, dataset: str | None = None, seed: int | None = None
) -> list[paths.RunKey]:
    """The runs of ``config`` (of ``dataset`` and ``seed`` where given) that ``ledger`` lacks:
    no row, or a row made with other settings than ``config`` gives the run now. A campaign
    resumed in a fresh checkout (its workdir gone, its ledger committed) runs only these; the
    code's version does not count, as a ledger keeps the numbers of the code that ran them."""
    done = set()
    if Path(ledger).is_file():
        rows = pd.read_csv(ledger, usecols=[*KEY, "settings_sha256"], dtype={"seed": int})
        done = {tuple(row) for row in rows.itertuples(index=False)}
    return [
        key
        for key in paths.runs(config)
        if (dataset is None or key.dataset == dataset)
        and (seed is None or key.seed == seed)
        and (key.dataset, key.ae, key.algorithm, key.seed, settings_digest(config, key)) not in done
    ]


def figure(ledger: Path) -> Path:
    """The ledger's figure: ``reproduce-cpu.csv`` → ``reproduce-cpu.png`` beside it."""
    return Path(ledger).with_suffix(".png")


def section(ledger: Path, document: Path) -> str:
    """The ledger's results table beside the published numbers (Markdown, with markers),
    under its figure where one was drawn (linked relative to ``document``)."""
    title = TITLES.get(Path(ledger).stem, Path(ledger).stem)
    from deepclust.report import markdown_table, results_table

    runs = pd.read_csv(ledger)
    summary = aggregate(runs)
    pretraining = runs.drop_duplicates(["dataset", "ae", "seed"]).groupby(["dataset", "ae"])
    seconds = pretraining["pretrain_runtime_s"].mean()
    hosts = ", ".join(sorted(runs["host"].unique()))
    dates = f"{runs['date'].min()} to {runs['date'].max()}"
    body = (
        f"{_begin(ledger)}\n## {title}\n\n"
        f"Generated from the ledger `{ledger}` (`deepclust collect`; one row per run with its "
        f"settings, versions, host and date): {len(runs)} runs on {hosts}, {dates}.\n\n"
        + _figure_link(ledger, document)
        + markdown_table(results_table(summary))
        + "\nPretraining time per seed (mean): "
        + ", ".join(f"{d}/{a} {s / 60:.1f} min" for (d, a), s in seconds.items())
        + f". Refinement time: the table's last column.\n{_end(ledger)}\n"
    )
    return body


def write_section(ledger: Path, document: Path) -> None:
    """Replace the ledger's section of ``document``; a new one goes after the other ledgers'
    sections (where ``results_document`` puts them), else before the first ``## ``."""
    text = Path(document).read_text()
    new = section(ledger, document)
    begin, end = _begin(ledger), _end(ledger)
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + new + "\n" + tail
    else:
        last_end = text.rfind(_END)
        if last_end >= 0:
            at = text.index("\n", last_end) + 1
            at = at + 1 if text[at : at + 1] == "\n" else at
        else:
            at = text.find("\n## ")
            at = len(text) if at < 0 else at + 1
        text = text[:at] + new + "\n" + text[at:]
    io.write_text(document, text)


def _figure_link(ledger: Path, document: Path) -> str:
    if not figure(ledger).is_file():
        return ""
    link = Path(os.path.relpath(figure(ledger), Path(document).parent)).as_posix()
    return f"![Each seed's ACC beside the published numbers]({link})\n\n"


def _begin(ledger: Path) -> str:
    return f"<!-- ledger {Path(ledger).name}: generated by `deepclust collect`, do not edit -->"


_END = "<!-- end of ledger "


def _end(ledger: Path) -> str:
    return f"{_END}{Path(ledger).name} -->"


def _digest(obj) -> str:
    text = json.dumps(obj, sort_keys=True, default=lambda v: np.asarray(v).tolist())
    return hashlib.sha256(text.encode()).hexdigest()[:16]
