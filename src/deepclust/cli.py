"""``deepclust`` / ``python -m deepclust``: one subcommand per pipeline stage.

Each handler imports its stage lazily, so light commands (evaluate, report) start fast.

A stage's options (explicit input and output paths, ``--config`` for most) are declared in the
stage table (``deepclust.workflow``), whose commands Snakemake rules and DVC stages run; its
subcommand's parser is generated from there. Errors print one line naming the problem and
exit 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from deepclust import config as config_module
from deepclust import paths, workflow
from deepclust.workflow import CONFIG_ENV, MIRROR_ENV, REQUIRED

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
    """The validated config; for a stage with ``--threads``, also apply its thread budget.

    Under ``dvc repro`` (which sets ``$DVC_STAGE``) the default is always ``config.yaml``, the
    file its params name."""
    default = os.environ.get(CONFIG_ENV) if "DVC_STAGE" not in os.environ else None
    config = config_module.load(args.config or Path(default or workflow.CONFIG))
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


def _pending(args):
    from deepclust import ledger

    for key in ledger.pending(_config(args), args.ledger, args.dataset, args.seed):
        print(key.fmt(paths.RUN_METRICS))


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

    def subcommand(name: str, handler, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    def option(p: argparse.ArgumentParser, o: workflow.Option, kind: type) -> None:
        required = o.default is REQUIRED
        default = None if required else o.default
        p.add_argument(f"--{o.name}", type=kind, help=o.help, default=default, required=required)

    for stage in workflow.STAGES.values():
        p = subcommand(stage.subcommand, globals()[stage.handler], stage.help)
        for o in stage.options:
            option(p, o, stage.option_type(o))

    p = subcommand("results-doc", _results_doc, "docs/results.md from finished workdirs")
    p.add_argument("--workdir", type=Path, action="append", required=True, help="repeatable")
    p.add_argument("--notes", type=Path, help="Markdown appended verbatim")
    p.add_argument("--ledger", type=Path, action="append", default=[], help="campaign CSV")
    p.add_argument("--out", type=Path, default=Path("docs/results.md"))

    p = subcommand("collect", _collect, "add a workdir's finished runs to a campaign's ledger")
    option(p, workflow.CONFIG_OPTION, Path)
    p.add_argument("--workdir", type=Path, required=True, help="where Snakemake ran the config")
    p.add_argument("--ledger", type=Path, required=True, help="the campaign's CSV (committed)")
    p.add_argument("--doc", type=Path, help="also rewrite the ledger's section of this file")

    p = subcommand(
        "pending", _pending, "the metrics files of the runs a campaign's ledger still lacks"
    )
    option(p, workflow.CONFIG_OPTION, Path)
    p.add_argument("--ledger", type=Path, required=True, help="the campaign's CSV (committed)")
    p.add_argument("--dataset", help="only this dataset's runs")
    p.add_argument("--seed", type=int, help="only this seed's runs")

    p = subcommand(
        "dvc-yaml",
        _dvc_yaml,
        "write dvc.yaml: the stage table for the lists of config.yaml beside it",
    )
    p.add_argument("--out", type=Path, default=Path("dvc.yaml"))
    p.add_argument("--check", action="store_true", help="only check that --out is current")

    subcommand("datasets", _datasets, "list the known datasets")
    subcommand("algorithms", _algorithms, "list the known algorithms")
    return parser
