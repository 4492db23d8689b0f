"""Every artifact path of the pipeline, decided in one place.

Each pattern is a Python format string that is also a Snakemake wildcard pattern; the stage
table (``workflow.py``), from which the Snakemake rules and ``dvc.yaml`` are made, and the
stages themselves take every file name from here, so they cannot drift apart.
An artifact's key is exactly what produced it: the pretrained autoencoder's key has no
algorithm in it, which is why every method reuses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DATA = "data/processed/{dataset}.npz"
DATA_CARD = "data/processed/{dataset}.json"
PRETRAINED_DIR = "data/pretrained/{dataset}/{ae}/seed-{seed}"
AE_MODEL = PRETRAINED_DIR + "/ae.pt"
AE_HISTORY = PRETRAINED_DIR + "/history.csv"
INIT = "data/init/{dataset}/{ae}/seed-{seed}/kmeans.npz"
RUN_DIR = "data/runs/{dataset}/{ae}/{algorithm}/seed-{seed}"
RUN_RESULT = RUN_DIR + "/result.npz"
RUN_HISTORY = RUN_DIR + "/history.csv"
RUN_MODEL = RUN_DIR + "/model.pt"
RUN_METRICS = RUN_DIR + "/metrics.json"
RESULTS = "results"
SUMMARY_CSV = "results/summary.csv"
SUMMARY_MD = "results/summary.md"
RUNS_CSV = "results/runs.csv"
METRICS = "results/metrics.json"
FIGURES = "results/figures"
METRICS_FIGURE = "results/figures/metrics.png"
REPORT = "results/report.md"
REPORT_TABLE = "results/table.html"  # the results table with the published numbers beside ours
PRETRAIN_FIGURES = "results/figures/pretraining"  # one {dataset}.png each, from the report stage
PRETRAIN_FIGURE = PRETRAIN_FIGURES + "/{dataset}.png"
RUN_FIGURES = "results/figures/{dataset}/{ae}/{algorithm}/seed-{seed}"
EMBEDDING_FIGURE = RUN_FIGURES + "/embedding.png"
CONFUSION_FIGURE = RUN_FIGURES + "/confusion.png"
TRAINING_FIGURE = RUN_FIGURES + "/training.png"
# Small copies of the curves and labels for `dvc plots`: results/ is git-tracked, and the
# folders under data/ hold more than plot files.
CURVES = "results/curves"
RUN_CURVE = CURVES + "/{dataset}/{ae}/{algorithm}/seed-{seed}.csv"  # step, loss…, delta_label
PRETRAIN_CURVES = CURVES + "/pretraining"  # from the report stage
PRETRAIN_CURVE = PRETRAIN_CURVES + "/{dataset}/{ae}/seed-{seed}.csv"  # step, loss
PREDICTIONS = "results/predictions"
RUN_PREDICTIONS = PREDICTIONS + "/{dataset}/{ae}/{algorithm}/seed-{seed}.csv"  # actual, predicted


def name(pattern: str) -> str:
    """The file name of ``pattern``: what a stage writes into its output folder."""
    return Path(pattern).name


def card(data: str | Path) -> Path:
    """The card (``DATA_CARD``) beside a prepared dataset (``DATA``)."""
    return Path(data).with_suffix(Path(DATA_CARD).suffix)


@dataclass(frozen=True)
class RunKey:
    """One refinement run: an algorithm on a pretrained autoencoder of a dataset and seed."""

    dataset: str
    ae: str
    algorithm: str
    seed: int

    def fmt(self, pattern: str) -> str:
        return pattern.format(**self.__dict__)


def runs(config: dict) -> Iterator[RunKey]:
    """All runs that ``config`` asks for: datasets × autoencoders × algorithms × seeds."""
    for dataset in config["datasets"]:
        for ae in config["autoencoders"]:
            for algorithm in config["algorithms"]:
                for seed in config["seeds"]:
                    yield RunKey(dataset, ae, algorithm, int(seed))


def metrics_files(config: dict, root: str | Path = ".") -> list[Path]:
    """The per-run metrics files a summary of ``config`` is made of."""
    return [Path(root) / key.fmt(RUN_METRICS) for key in runs(config)]
