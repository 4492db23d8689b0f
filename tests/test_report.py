"""`snakemake --report report.html` on the tiny pipeline: the table and every figure are in it."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from deepclust import paths
from tests.conftest import run_snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tiny_run, project_env) -> tuple[Path, str]:
    config = ["--configfile", str(tiny_run / "config.yaml")]
    run_snakemake(tiny_run, project_env, *config, "--report", str(tiny_run / "report.html"))
    return tiny_run, (tiny_run / "report.html").read_text()


def _embedded(html: str) -> list[bytes]:
    """Every file the report embeds as a base64 data URI."""
    uris = re.findall(r"data:[\w/+.-]+(?:;[^;,\"]+)*;base64,([A-Za-z0-9+/=]+)", html)
    return [base64.b64decode(u) for u in uris]


def test_report_holds_every_figure(report):
    workdir, html = report
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    figures = [workdir / paths.METRICS_FIGURE]
    figures += [workdir / paths.PRETRAIN_FIGURE.format(dataset=d) for d in cfg["datasets"]]
    for key in paths.runs(cfg):
        for pattern in (paths.EMBEDDING_FIGURE, paths.CONFUSION_FIGURE, paths.TRAINING_FIGURE):
            figures.append(workdir / key.fmt(pattern))
    embedded = _embedded(html)
    for figure in figures:
        assert figure.stat().st_size > 5000, figure
        assert figure.read_bytes() in embedded, f"{figure} is not in report.html"


def test_report_holds_the_results_table(report):
    workdir, html = report
    table = (workdir / paths.REPORT_TABLE).read_text()
    assert table.encode() in _embedded(html)
    summary = pd.read_csv(workdir / paths.SUMMARY_CSV)
    for _, row in summary.iterrows():
        assert f"<td>{row['algorithm']}</td>" in table
        spread = f" ± {100 * row['acc_std']:.1f}" if row["n_seeds"] > 1 else ""  # 1 seed: none
        assert f">{100 * row['acc_mean']:.1f}{spread}</td>" in table
    assert table.count('class="best"') >= 3  # the best ACC, NMI and ARI of the dataset
    markdown = (workdir / paths.REPORT).read_text()
    assert "| digits | dense | dec |" in markdown and "paper" in markdown


def test_plot_run_writes_the_data_of_dvc_plots(report):
    workdir, _ = report
    curve = pd.read_csv(workdir / paths.RUN_CURVE.format(dataset="digits", ae="dense",
                                                        algorithm="dec", seed=0))  # fmt: skip
    assert {"step", "loss", "delta_label"} <= set(curve.columns)
    predictions = pd.read_csv(workdir / paths.RUN_PREDICTIONS.format(
        dataset="digits", ae="dense", algorithm="dec", seed=0))  # fmt: skip
    assert list(predictions.columns) == ["actual", "predicted"] and len(predictions) == 1797


def test_results_table_shows_a_spread_only_over_several_seeds():
    from deepclust.report import results_table

    columns = {
        f"{m}_{s}": v for m in ("acc", "nmi", "ari") for s, v in (("mean", 0.5), ("std", 0.1))
    }
    one = {"dataset": "usps", "ae": "dense", "algorithm": "dec", "n_seeds": 1, **columns}
    summary = pd.DataFrame([one, {**one, "dataset": "mnist", "n_seeds": 3}])
    summary[["runtime_s_mean", "runtime_s_std"]] = [[12.0, 0.0], [10.0, 2.0]]
    table = results_table(summary)
    # one seed: 50.0 with no "± 0.0" that would read as a measured zero spread
    assert table.loc[0, ["acc", "time"]].tolist() == ["50.0", "12.0"]
    assert table.loc[1, ["acc", "time"]].tolist() == ["50.0 ± 10.0", "10.0 ± 2.0"]
