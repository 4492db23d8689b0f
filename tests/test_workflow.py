"""The workflow: Snakemake lint, the tiny pipeline end to end, reuse of artifacts, DVC parity."""

from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from deepclust import paths
from tests.conftest import DIGITS_MIN_ACC, DIGITS_MIN_NMI, ROOT, TINY_CONFIG, run_snakemake

pytestmark = pytest.mark.slow


def _job_counts(dry_run_output: str) -> dict[str, int]:
    table = dry_run_output.split("Job stats:")[1].split("\n\n")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_snakemake_lint_is_clean(project_env):
    out = run_snakemake(ROOT, project_env, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in out


def test_dvc_outs_are_the_paths_patterns():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]

    def pattern(path) -> str:
        path = next(iter(path)) if isinstance(path, dict) else path
        return re.sub(r"\$\{item\.(\w+)\}", r"{\1}", path)

    dvc_outs = {
        pattern(o) for s in stages.values() for o in [*s.get("outs", []), *s.get("metrics", [])]
    }
    expected = {
        paths.DATA, paths.DATA_CARD, paths.AE_MODEL, paths.AE_HISTORY, paths.INIT,
        paths.RUN_RESULT, paths.RUN_HISTORY, paths.RUN_MODEL, paths.RUN_METRICS,
        paths.RUNS_CSV, paths.SUMMARY_CSV, paths.SUMMARY_MD, paths.METRICS,
        paths.REPORT, paths.METRICS_FIGURE, paths.REPORT_TABLE, paths.PRETRAIN_FIGURES,
        paths.PRETRAIN_CURVES, paths.EMBEDDING_FIGURE, paths.CONFUSION_FIGURE,
        paths.TRAINING_FIGURE, paths.RUN_CURVE, paths.RUN_PREDICTIONS,
    }  # fmt: skip
    assert dvc_outs == expected


def test_tiny_pipeline_produces_the_summary(tiny_run):
    summary = pd.read_csv(tiny_run / paths.SUMMARY_CSV)
    assert list(summary["algorithm"]) == ["aekm", "dec"]
    assert (summary["acc_mean"] > DIGITS_MIN_ACC).all(), summary  # better than degenerate
    assert (summary["nmi_mean"] > DIGITS_MIN_NMI).all(), summary
    assert (tiny_run / paths.METRICS_FIGURE).stat().st_size > 1000
    assert "| digits | dense | dec |" in (tiny_run / paths.SUMMARY_MD).read_text()


def test_new_algorithm_or_seed_runs_only_the_new_jobs(tiny_run, project_env):
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    cfg["algorithms"]["dcn"] = {"preset": "fast", "epochs": 1}
    new_algorithm = tiny_run / "new-algorithm.yaml"
    new_algorithm.write_text(yaml.safe_dump(cfg))
    jobs = _job_counts(
        run_snakemake(tiny_run, project_env, "-n", "--configfile", str(new_algorithm))
    )
    assert "pretrain" not in jobs and "init" not in jobs and "prepare" not in jobs
    assert jobs["fit"] == 1 and jobs["evaluate"] == 1

    cfg["seeds"] = [0, 1]
    new_seed = tiny_run / "new-seed.yaml"
    new_seed.write_text(yaml.safe_dump(cfg))
    jobs = _job_counts(run_snakemake(tiny_run, project_env, "-n", "--configfile", str(new_seed)))
    assert jobs["pretrain"] == 1 and jobs["init"] == 1 and "prepare" not in jobs
    assert jobs["fit"] == 4  # dcn for seed 0; aekm, dec and dcn for seed 1


def test_dvc_repro_gives_the_same_summary_and_a_clean_status(tiny_run, tmp_path, project_env):
    for name in ("dvc.yaml", ".dvcignore", "src"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    shutil.copy(TINY_CONFIG, tmp_path / "config.yaml")

    def run(*cmd: str) -> str:
        proc = subprocess.run(
            cmd, cwd=tmp_path, env=project_env, capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout

    run("git", "init", "-q")
    run("dvc", "init", "-q")
    run("dvc", "repro", "-q")
    columns = ["dataset", "ae", "algorithm", "acc_mean", "nmi_mean", "ari_mean"]
    dvc_summary = pd.read_csv(tmp_path / paths.SUMMARY_CSV)[columns]
    snakemake_summary = pd.read_csv(tiny_run / paths.SUMMARY_CSV)[columns]
    pd.testing.assert_frame_equal(dvc_summary, snakemake_summary)
    assert "Data and pipelines are up to date" in run("dvc", "status")


def test_a_by_dataset_change_reruns_only_that_datasets_jobs(tiny_run, project_env):
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())

    def planned(name: str) -> str:
        path = tiny_run / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return run_snakemake(tiny_run, project_env, "-n", "--configfile", str(path))

    # Entries for a dataset this config does not run change none of its jobs' parameters.
    cfg["autoencoders"]["dense"]["by_dataset"] = {"usps": {"epochs": 50}}
    cfg["algorithms"]["dec"]["by_dataset"] = {"usps": {"update_interval": 30}}
    assert "Nothing to be done" in planned("other-dataset")
    # An entry for digits reruns the jobs it changes there, and nothing upstream of them.
    cfg["algorithms"]["dec"]["by_dataset"] = {"digits": {"max_iter": 10}}
    jobs = _job_counts(planned("digits-dec"))
    assert jobs["fit"] == 1 and "pretrain" not in jobs and "init" not in jobs
    cfg["autoencoders"]["dense"]["by_dataset"] = {"digits": {"epochs": 1}}
    jobs = _job_counts(planned("digits-ae"))
    assert jobs["pretrain"] == 1 and jobs["fit"] == 2  # aekm and dec on the new autoencoder
