"""The pipeline's stages, declared once: the CLI's stage subcommands, the Snakemake rules and
``dvc.yaml`` are made from it.

Each ``Stage`` names what one job of it is keyed by (``keys``), its inputs and outputs as
``deepclust.paths`` patterns, the config keys it depends on, the modules it runs and its
command line: the ``Option``s of its ``deepclust`` subcommand, which ``deepclust.cli``'s parser
is generated from and ``command`` renders for a job. The rules in ``workflow/rules/*.smk`` take
their inputs, outputs, config params and command from here; ``deepclust dvc-yaml`` renders
``dvc.yaml`` from it for a config (``tests/test_stage_table.py`` checks the committed file).
Snakemake and DVC therefore run the identical command line, and each stage applies its own
settings (threads included) from the config, so that both give the same bytes.

A stage depends on the source files its command imports (``codedeps``): editing ``dec.py``
reruns DEC, IDEC and DCEC, whose fit imports it, and nothing else.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deepclust import codedeps, paths
from deepclust.settings import for_dataset

KEYS = ("dataset", "ae", "algorithm", "seed")  # what a job can be keyed by: paths.RunKey
TRAINING = ("deepclust.stages",)  # prepare, pretrain, init and fit live in stages.py
CONFIG_ENV = "DEEPCLUST_CONFIG"  # the default --config; set by the Snakefile, not under DVC
MIRROR_ENV = "DEEPCLUST_MIRROR"
CONFIG = "config.yaml"  # the params file of dvc.yaml (beside it): the default --config under DVC
REQUIRED = object()  # the default of an option that must be given


@dataclass(frozen=True)
class Option:
    """``--name VALUE`` on a stage's command line. The runners give it ``{field}``, a key of
    the job or a pattern of the stage (the value is then an ``int`` for the seed, a ``Path``
    for a pattern); an option without a field is for people and keeps its default there."""

    name: str
    field: str | None = None
    help: str | None = None
    type: type | None = None  # None: from the field (a field-less option's is str)
    default: Any = REQUIRED


CONFIG_OPTION = Option(
    "config", help=f"default: ${CONFIG_ENV}, else {CONFIG}", type=Path, default=None
)
THREADS_OPTION = Option(
    "threads",
    help="CPU threads (default: the config's threads.<stage>, not $OMP_NUM_THREADS)",
    type=int,
    default=None,
)
BUDGETED = (CONFIG_OPTION, THREADS_OPTION)  # a training stage's: its config and threads
DATASET = Option("dataset", "dataset", "a dataset's name (`deepclust datasets`)")
AE = Option("ae", "ae", "a key of `autoencoders` in the config")
ALGORITHM = Option("algorithm", "algorithm", "an algorithm's name (`deepclust algorithms`)")
SEED = Option("seed", "seed")
DATA = Option("data", "data", "the prepared dataset (.npz)")
RUN = Option("run", "run", "run folder")
RUN_KEY = (DATASET, AE, ALGORITHM, SEED)  # a run's identity, which evaluate and plot-run record
MIRROR = f"local mirror of the raw files (default: ${MIRROR_ENV}, else the config's)"


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: a Snakemake rule, a DVC stage and a ``deepclust`` subcommand of the
    same name (``_`` spelt ``-``)."""

    name: str
    help: str
    keys: tuple[str, ...]  # one job per value of these (a stage without keys is one job)
    inputs: dict[str, str]  # name → paths pattern (over all runs of the config if unkeyed)
    outputs: dict[str, str]
    options: tuple[Option, ...]  # its command line, in the order the runners write it
    code: tuple[str, ...]  # modules whose import closure the stage runs (+ the algorithm's)
    handler: str  # the deepclust.cli function that runs it
    config: tuple[str, ...] = ()  # config keys it depends on; "x:keys" = only x's keys
    folders: dict[str, str] = field(default_factory=dict)  # other patterns options name

    @property
    def subcommand(self) -> str:
        return self.name.replace("_", "-")

    def patterns(self) -> dict[str, str]:
        return {**self.inputs, **self.outputs, **self.folders}

    def option_type(self, option: Option) -> type:
        if option.type is not None:
            return option.type
        return int if option.field == "seed" else Path if option.field in self.patterns() else str


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage(
            "prepare",
            "build a dataset's arrays (X, y) and its card",
            keys=("dataset",),
            inputs={},
            outputs={"data": paths.DATA, "card": paths.DATA_CARD},
            options=(
                *BUDGETED,
                DATASET,
                Option("out", "data", "the .npz to write"),
                Option("mirror", help=MIRROR, default=None),
            ),
            code=TRAINING,
            handler="_prepare",
        ),
        Stage(
            "pretrain",
            "pretrain one autoencoder configuration on one dataset",
            keys=("dataset", "ae", "seed"),
            inputs={"data": paths.DATA},
            outputs={"model": paths.AE_MODEL, "history": paths.AE_HISTORY},
            folders={"folder": paths.PRETRAINED_DIR},
            options=(
                *BUDGETED,
                AE,
                DATA,
                SEED,
                Option("out", "folder", "folder for ae.pt and history.csv"),
            ),
            code=TRAINING,
            handler="_pretrain",
            config=("autoencoders.{ae}",),
        ),
        Stage(
            "init",
            "k-means on the pretrained embedding",
            keys=("dataset", "ae", "seed"),
            inputs={"model": paths.AE_MODEL, "data": paths.DATA},
            outputs={"init": paths.INIT},
            options=(
                *BUDGETED,
                Option("pretrained", "model", "ae.pt"),
                DATA,
                SEED,
                Option("out", "init", "the .npz to write"),
            ),
            code=TRAINING,
            handler="_init",
            config=("init",),
        ),
        Stage(
            "fit",
            "refine a pretrained autoencoder and its clustering with one algorithm",
            keys=("dataset", "ae", "algorithm", "seed"),
            inputs={"pretrained": paths.AE_MODEL, "init": paths.INIT, "data": paths.DATA},
            outputs={
                "result": paths.RUN_RESULT,
                "history": paths.RUN_HISTORY,
                "model": paths.RUN_MODEL,
            },
            folders={"run": paths.RUN_DIR},
            options=(
                *BUDGETED,
                ALGORITHM,
                Option("pretrained", "pretrained", "ae.pt"),
                Option("init", "init", "kmeans.npz"),
                DATA,
                SEED,
                Option("out", "run", "run folder"),
            ),
            code=TRAINING,
            handler="_fit",
            config=("algorithms.{algorithm}",),
        ),
        Stage(
            "evaluate",
            "score a run's labels: ACC, NMI, ARI",
            keys=("dataset", "ae", "algorithm", "seed"),
            inputs={"result": paths.RUN_RESULT, "data": paths.DATA},
            outputs={"metrics": paths.RUN_METRICS},
            folders={"run": paths.RUN_DIR},
            options=(RUN, DATA, Option("out", "metrics", "metrics.json"), *RUN_KEY),
            code=("deepclust.evaluate",),
            handler="_evaluate",
        ),
        Stage(
            "summarize",
            "tables of mean ± std over seeds",
            keys=(),
            inputs={"metrics": paths.RUN_METRICS},
            outputs={
                "runs": paths.RUNS_CSV,
                "summary": paths.SUMMARY_CSV,
                "table": paths.SUMMARY_MD,
                "metrics": paths.METRICS,
            },
            folders={"results": paths.RESULTS},
            options=(
                CONFIG_OPTION,
                Option("out", "results", default=Path(paths.RESULTS)),
                Option("root", help="project root holding data/runs", type=Path, default=Path(".")),
            ),
            code=("deepclust.evaluate",),
            handler="_summarize",
            config=("datasets", "seeds", "autoencoders:keys", "algorithms:keys"),
        ),
        Stage(
            "plot_run",
            "one run's figures: embedding, confusion, training",
            keys=("dataset", "ae", "algorithm", "seed"),
            inputs={"result": paths.RUN_RESULT, "history": paths.RUN_HISTORY, "data": paths.DATA},
            outputs={
                "embedding": paths.EMBEDDING_FIGURE,
                "confusion": paths.CONFUSION_FIGURE,
                "training": paths.TRAINING_FIGURE,
                "curve": paths.RUN_CURVE,
                "predictions": paths.RUN_PREDICTIONS,
            },
            folders={"run": paths.RUN_DIR, "figures": paths.RUN_FIGURES},
            options=(
                RUN,
                DATA,
                Option("out", "figures", "folder for the figures"),
                Option("curve", "curve", "CSV of the training curve (for dvc plots)", default=None),
                Option(
                    "predictions",
                    "predictions",
                    "CSV of actual, predicted (for dvc plots)",
                    default=None,
                ),
                *RUN_KEY,
            ),
            code=("deepclust.report",),
            handler="_plot_run",
        ),
        Stage(
            "report",
            "figures and the Markdown report",
            keys=(),
            inputs={
                "summary": paths.SUMMARY_CSV,
                "runs": paths.RUNS_CSV,
                "histories": paths.AE_HISTORY,
            },
            outputs={
                "report": paths.REPORT,
                "table": paths.REPORT_TABLE,
                "figure": paths.METRICS_FIGURE,
                "pretraining": paths.PRETRAIN_FIGURE,
                "curves": paths.PRETRAIN_CURVE,
            },
            folders={"results": paths.RESULTS},
            options=(
                Option("summary", "summary", default=Path(paths.SUMMARY_CSV)),
                Option("out", "results", default=Path(paths.RESULTS)),
            ),
            code=("deepclust.report",),
            handler="_report",
        ),
    )
}


# --- what a stage depends on -------------------------------------------------------------


def code_files(stage: Stage, algorithm: str | None = None) -> list[Path]:
    """The source files that ``stage`` runs (for fit, with ``algorithm``'s)."""
    modules = stage.code
    if "algorithm" in stage.keys and stage.name == "fit":
        if algorithm is None:
            raise ValueError("the fit stage's code depends on its algorithm; name one")
        modules = (*modules, codedeps.algorithm_module(algorithm))
    return codedeps.closure(modules, cli_handler=stage.handler)


def config_slice(stage: Stage, config: dict, fields: dict) -> dict:
    """The values of the config keys ``stage`` depends on, for one job (``fields``): an
    autoencoder's or algorithm's block as it applies to the job's dataset (``by_dataset``)."""
    values = {}
    for key in stage.config:
        key = key.format(**fields)
        path, _, only_keys = key.partition(":")
        value = config
        for part in path.split("."):
            value = value[part]
        if only_keys:
            value = sorted(value)
        elif path.startswith(("autoencoders.", "algorithms.")) and "dataset" in fields:
            value = for_dataset(value, fields["dataset"])
        values[key] = value
    return values


def expand(pattern: str, config: dict) -> list[str]:
    """``pattern`` for every run of ``config`` (once each): an unkeyed stage's files."""
    return list(dict.fromkeys(key.fmt(pattern) for key in paths.runs(config)))


# --- the command -------------------------------------------------------------------------


def command(stage: Stage, fields: dict) -> str:
    """The shell command of one job: ``deepclust``, the stage's subcommand and each of its
    options that has a field, with the field's value for the job.

    ``fields`` holds the job's keys (or DVC's ``${item.…}`` placeholders). The command names
    no config file: a stage reads ``$DEEPCLUST_CONFIG`` (which the Snakefile sets to the file
    Snakemake was given), else ``config.yaml`` (DVC's, which ``dvc.yaml``'s params name)."""
    values = {name: _format(pattern, fields) for name, pattern in stage.patterns().items()}
    values.update(fields)
    words = [f"--{o.name} {_quote(str(values[o.field]))}" for o in stage.options if o.field]
    return " ".join(["deepclust", stage.subcommand, *words])


def _format(pattern: str, fields: dict) -> str:
    try:
        return pattern.format(**fields)
    except KeyError:
        return pattern  # an unkeyed stage's expanded input: not on its command line


def _quote(value: str) -> str:
    """A shell word: as it is when plain (or a DVC ``${item.…}``), else quoted."""
    return value if re.fullmatch(r"[\w@%+=:,./${}-]+", value) else shlex.quote(value)


# --- dvc.yaml ----------------------------------------------------------------------------

DVC_HEADER = """\
# GENERATED by `deepclust dvc-yaml` from the stage table in src/deepclust/workflow.py and
# config.yaml's lists (datasets, autoencoders, algorithms, seeds): do not edit. After changing
# those lists, or the package's modules, run `deepclust dvc-yaml` again (tests/test_workflow.py
# checks that this file is current). Each cmd is the one the Snakemake rule of the same name
# runs; every out is `persist`, so that a stage that fails before writing (e.g. `deepclust` not
# found outside the project's environment) leaves the previous outputs in place.
"""

DVC_PLOTS = [
    {"results/curves": {"x": "step", "y": "loss"}},
    {"results/predictions": {"template": "confusion", "x": "predicted", "y": "actual"}},
    {"results/figures": None},
]


def dvc_yaml(config: dict, root: Path | None = None) -> str:
    """``dvc.yaml`` for ``config`` (validated: the project's ``config.yaml``), its paths
    relative to the project ``root``."""
    root = Path.cwd() if root is None else Path(root)
    stages: dict[str, dict] = {}
    for stage in STAGES.values():
        if stage.name == "fit":  # one DVC stage per algorithm: each has its own code
            for algorithm in config["algorithms"]:
                stages[f"fit-{algorithm}"] = _dvc_stage(stage, config, root, algorithm)
        else:
            stages[stage.name] = _dvc_stage(stage, config, root)
    document = {"stages": stages, "plots": DVC_PLOTS}
    body = yaml.safe_dump(document, sort_keys=False, width=1000, default_flow_style=False)
    return DVC_HEADER + body.replace("results/figures: null", "results/figures")


def _dvc_stage(stage: Stage, config: dict, root: Path, algorithm: str | None = None) -> dict:
    matrix_keys = [k for k in stage.keys if not (k == "algorithm" and algorithm)]
    fields = {k: f"${{item.{k}}}" for k in matrix_keys}
    if algorithm:
        fields["algorithm"] = algorithm
    entry: dict = {}
    if matrix_keys:
        lists = {
            "dataset": config["datasets"],
            "ae": list(config["autoencoders"]),
            "algorithm": list(config["algorithms"]),
            "seed": config["seeds"],
        }
        entry["matrix"] = {k: list(lists[k]) for k in matrix_keys}
    entry["cmd"] = command(stage, fields)
    code = [_relative(p, root) for p in code_files(stage, algorithm)]
    entry["deps"] = [*_files(stage.inputs, fields, config, keyed=bool(stage.keys)), *code]
    params = [key.format(**fields).partition(":")[0] for key in stage.config]
    if params:
        entry["params"] = [{CONFIG: params}]
    outs, metrics = [], []
    for path in _files(stage.outputs, fields, config, keyed=bool(stage.keys)):
        options = {"persist": True}
        if not path.startswith(paths.RESULTS + "/") and path != paths.RESULTS:
            outs.append({path: options})
            continue
        options["cache"] = False  # results/ is small and lives in git
        (metrics if path == paths.METRICS else outs).append({path: options})
    entry["outs"] = outs
    if metrics:
        entry["metrics"] = metrics
    return entry


def _files(patterns: dict[str, str], fields: dict, config: dict, *, keyed: bool) -> list[str]:
    if keyed:
        return [p.format(**fields) for p in patterns.values()]
    return [f for p in patterns.values() for f in expand(p, config)]


def _relative(path: Path, root: Path) -> str:
    """A source file as ``dvc.yaml`` names it: relative to the project when inside it; a
    deepclust module imported from elsewhere as the project's copy (``src/deepclust/…``) when
    the project has one; else absolute (a plug-in installed outside the project)."""
    root = root.resolve()
    if path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    package = Path(codedeps.closure(("deepclust",))[0]).parent
    if path.is_relative_to(package):
        copy = root / "src" / "deepclust" / path.relative_to(package)
        if copy.is_file():
            return copy.relative_to(root).as_posix()
    return str(path)
