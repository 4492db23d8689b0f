"""``deepclust`` / ``python -m deepclust``: one subcommand per pipeline stage.

Each handler imports its stage lazily, so light commands (evaluate, report) start fast.

Every stage takes ``--config`` plus explicit input and output paths; Snakemake rules and DVC
stages call exactly these commands. Errors print one line naming the problem and exit 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from deepclust import config as config_module
from deepclust import paths

MIRROR_ENV = "DEEPCLUST_MIRROR"
CONFIG_ENV = "DEEPCLUST_CONFIG"  # the default --config; set by the Snakefile, not under DVC
LISTINGS = ("datasets", "algorithms")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr
    )
    if args.command not in LISTINGS:  # every stage's log says where it ran
        from deepclust.provenance import describe, where

        logging.getLogger("deepclust").info("%s: %s", args.command, describe(where()))
    try:
        args.handler(args)
    except (ValueError, OSError, RuntimeError, ArithmeticError, ImportError) as err:
        print(f"deepclust {args.command}: error: {err}", file=sys.stderr)
        return 1
    return 0


def _config(args: argparse.Namespace) -> dict:
    """The validated config; for a stage with ``--threads``, also apply its thread budget."""
    config = config_module.load(args.config)
    if hasattr(args, "threads"):
        from deepclust.seeding import thread_budget, use_threads

        use_threads(thread_budget(args.command, config, args.threads))
    return config


def _prepare(args):
    from deepclust import stages

    config = _config(args)
    mirror = args.mirror or os.environ.get(MIRROR_ENV) or config["mirror"]
    stages.prepare(config, args.dataset, args.out, Path(mirror) if mirror else None)


def _pretrain(args):
    from deepclust import stages

    stages.pretrain(_config(args), args.ae, args.data, args.seed, args.out)


def _init(args):
    from deepclust import stages

    stages.init(_config(args), args.pretrained, args.data, args.seed, args.out)


def _fit(args):
    from deepclust import stages

    stages.fit(
        _config(args), args.algorithm, args.pretrained, args.init, args.data, args.seed, args.out
    )


def _evaluate(args):
    from deepclust.evaluate import evaluate_run

    key = paths.RunKey(args.dataset, args.ae, args.algorithm, args.seed)
    evaluate_run(args.run, args.data, args.out, key)


def _summarize(args):
    from deepclust.evaluate import summarize

    summary = summarize(_config(args), args.root, args.out)
    print(summary.to_string(index=False))


def _report(args):
    from deepclust.report import report

    report(args.summary, args.out)


def _plot_run(args):
    from deepclust.report import plot_run

    key = paths.RunKey(args.dataset, args.ae, args.algorithm, args.seed)
    plot_run(args.run, args.data, args.out, key, args.curve, args.predictions)


def _results_doc(args):
    from deepclust.report import results_document

    results_document(args.workdir, args.notes, args.out, tuple(args.ledger))


def _collect(args):
    from deepclust import ledger

    runs = ledger.collect(_config(args), args.workdir, args.ledger)
    print(f"{args.ledger}: {len(runs)} runs")
    if args.doc is not None:
        ledger.write_section(args.ledger, args.doc)


def _dvc_yaml(args):
    from deepclust import io, workflow

    out = args.out.resolve()
    config = config_module.load(out.parent / workflow.CONFIG)
    text = workflow.dvc_yaml(config, out.parent)
    if not args.check:
        io.write_text(out, text)
    elif not out.is_file() or out.read_text() != text:
        raise ValueError(
            f"{args.out} is not the stage table's rendering for {workflow.CONFIG} beside it: "
            f"run `deepclust dvc-yaml --out {args.out}`"
        )


def _datasets(args):
    from deepclust.data.download import availability
    from deepclust.data.registry import DATASETS

    mirror = Path(os.environ[MIRROR_ENV]) if os.environ.get(MIRROR_ENV) else None
    print(f"{'name':<16}{'n':>7}{'d':>7}{'k':>4}  {'kind':<10}{'raw files':<11}source")
    for d in DATASETS.values():
        # raw files: embedded (none needed), missing, or where they are: cache / mirror
        where = {availability(f, mirror) for f in d.raw_files}
        raw = "+".join(sorted(where)) if None not in where else "missing"
        raw = raw if d.raw_files else "embedded"
        print(f"{d.name:<16}{d.n:>7}{d.d:>7}{d.n_clusters:>4}  {d.kind:<10}{raw:<11}{d.source}")


def _algorithms(args):
    from deepclust.algorithms import ALGORITHMS

    for a in ALGORITHMS.values():
        presets = ", ".join(dict.fromkeys(["paper", *a.presets]))
        print(f"{a.name:<11} {a.family:<13} presets: {presets}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepclust", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def stage(
        name: str, handler, help_: str, *, config: bool = True, threads: bool = False
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        if config:
            # under `dvc repro` (which sets $DVC_STAGE) the file its params name, always
            under_dvc = "DVC_STAGE" in os.environ
            default = Path(
                os.environ.get(CONFIG_ENV, "config.yaml") if not under_dvc else "config.yaml"
            )
            p.add_argument(
                "--config", type=Path, default=default, help=f"default: ${CONFIG_ENV} or {default}"
            )
        if threads:
            p.add_argument(
                "--threads",
                type=int,
                help=f"CPU threads (default: the config's threads.{name}, not $OMP_NUM_THREADS)",
            )
        p.set_defaults(handler=handler)
        return p

    p = stage("prepare", _prepare, "build a dataset's arrays (X, y) and its card", threads=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", type=Path, required=True, help="the .npz to write")
    p.add_argument(
        "--mirror",
        help=f"local mirror of the raw files (default: ${MIRROR_ENV}, else the config's)",
    )

    p = stage(
        "pretrain", _pretrain, "pretrain one autoencoder configuration on one dataset", threads=True
    )
    p.add_argument("--ae", required=True, help="a key of `autoencoders` in the config")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for ae.pt and history.csv")

    p = stage("init", _init, "k-means on the pretrained embedding", threads=True)
    p.add_argument("--pretrained", type=Path, required=True, help="ae.pt")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="the .npz to write")

    p = stage(
        "fit",
        _fit,
        "refine a pretrained autoencoder and its clustering with one algorithm",
        threads=True,
    )
    p.add_argument("--algorithm", required=True)
    p.add_argument("--pretrained", type=Path, required=True, help="ae.pt")
    p.add_argument("--init", type=Path, required=True, help="kmeans.npz")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="run folder")

    p = stage("evaluate", _evaluate, "score a run's labels: ACC, NMI, ARI", config=False)
    p.add_argument("--run", type=Path, required=True, help="run folder")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="metrics.json")
    for key in ("dataset", "ae", "algorithm"):
        p.add_argument(f"--{key}", required=True)
    p.add_argument("--seed", type=int, required=True)

    p = stage("summarize", _summarize, "tables of mean ± std over seeds")
    p.add_argument("--root", type=Path, default=Path("."), help="project root holding data/runs")
    p.add_argument("--out", type=Path, default=Path(paths.RESULTS))

    p = stage("report", _report, "figures and the Markdown report", config=False)
    p.add_argument("--summary", type=Path, default=Path(paths.SUMMARY_CSV))
    p.add_argument("--out", type=Path, default=Path(paths.RESULTS))

    p = stage(
        "plot-run", _plot_run, "one run's figures: embedding, confusion, training", config=False
    )
    p.add_argument("--run", type=Path, required=True, help="run folder")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="folder for the figures")
    p.add_argument("--curve", type=Path, help="CSV of the training curve (for dvc plots)")
    p.add_argument("--predictions", type=Path, help="CSV of actual, predicted (for dvc plots)")
    for key in ("dataset", "ae", "algorithm"):
        p.add_argument(f"--{key}", required=True)
    p.add_argument("--seed", type=int, required=True)

    p = stage("results-doc", _results_doc, "docs/results.md from finished workdirs", config=False)
    p.add_argument("--workdir", type=Path, action="append", required=True, help="repeatable")
    p.add_argument("--notes", type=Path, help="Markdown appended verbatim")
    p.add_argument("--ledger", type=Path, action="append", default=[], help="campaign CSV")
    p.add_argument("--out", type=Path, default=Path("docs/results.md"))

    p = stage("collect", _collect, "add a workdir's finished runs to a campaign's ledger")
    p.add_argument("--workdir", type=Path, required=True, help="where Snakemake ran the config")
    p.add_argument("--ledger", type=Path, required=True, help="the campaign's CSV (committed)")
    p.add_argument("--doc", type=Path, help="also rewrite the ledger's section of this file")

    p = stage(
        "dvc-yaml",
        _dvc_yaml,
        "write dvc.yaml: the stage table for the lists of config.yaml beside it",
        config=False,
    )
    p.add_argument("--out", type=Path, default=Path("dvc.yaml"))
    p.add_argument("--check", action="store_true", help="only check that --out is current")

    stage("datasets", _datasets, "list the known datasets", config=False)
    stage("algorithms", _algorithms, "list the known algorithms", config=False)
    return parser
