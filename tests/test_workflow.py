"""The workflow: Snakemake lint, the tiny pipeline end to end, reuse of artifacts, DVC parity."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
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


def _arrays(root: Path) -> dict[str, bytes]:
    """Every array of every ``.npz`` artifact under ``data/`` (data, k-means, results) with
    its dtype and shape, as bytes; not the file, which also stores its write time, and not
    the run time."""
    found = {}
    for path in sorted((root / "data").rglob("*.npz")):
        if ".kept" not in path.parts:
            with np.load(path) as arrays:
                for name in set(arrays.files) - {"runtime_s"}:
                    a = arrays[name]
                    found[f"{path.relative_to(root)}:{name}"] = f"{a.dtype}{a.shape}".encode() + (
                        a.tobytes()
                    )
    return found


def test_dvc_repro_runs_snakemakes_commands_to_the_same_bits_and_a_clean_status(
    tiny_run, tmp_path, project_env
):
    for name in (".dvcignore", "src"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    shutil.copy(TINY_CONFIG, tmp_path / "config.yaml")
    env = {**project_env, "OMP_NUM_THREADS": "2"}  # a runner's setting no stage may follow

    def run(*cmd: str, check: bool = True, env: dict = env) -> subprocess.CompletedProcess:
        # (the whole tiny pipeline in one process: allow for a busy machine)
        proc = subprocess.run(
            cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800
        )
        assert proc.returncode == 0 or not check, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc

    run("deepclust", "dvc-yaml")  # the documented step after changing config.yaml's lists
    run("git", "init", "-q")
    run("dvc", "init", "-q")
    repro = run("dvc", "repro").stdout
    assert _arrays(tmp_path) == _arrays(tiny_run) and len(_arrays(tmp_path)) > 10
    columns = ["dataset", "ae", "algorithm", "acc_mean", "nmi_mean", "ari_mean"]
    dvc_summary = pd.read_csv(tmp_path / paths.SUMMARY_CSV)[columns]
    snakemake_summary = pd.read_csv(tiny_run / paths.SUMMARY_CSV)[columns]
    pd.testing.assert_frame_equal(dvc_summary, snakemake_summary)
    assert "Data and pipelines are up to date" in run("dvc", "status").stdout

    # The identical command lines: what DVC ran is what Snakemake runs for the same jobs.
    dvc_commands = set(re.findall(r"^> (deepclust .*)$", repro, flags=re.MULTILINE))
    planned = run_snakemake(tiny_run, project_env, "-n", "-p", "--forceall")
    snakemake_commands = set(re.findall(r"(deepclust \S.*?) > logs/", planned))
    assert dvc_commands == snakemake_commands and len(dvc_commands) == 11

    # Outside the environment a stage fails before anything of it is removed.
    result = tmp_path / paths.RunKey("digits", "dense", "dec", 0).fmt(paths.RUN_RESULT)
    before = result.read_bytes()
    outside = {**env, "PATH": "/usr/bin:/bin"}
    dvc = shutil.which("dvc", path=env["PATH"])
    failed = run(dvc, "repro", "-f", "-s", "fit-dec@digits-dense-0", check=False, env=outside)
    assert failed.returncode != 0 and "deepclust" in failed.stdout + failed.stderr
    assert result.read_bytes() == before


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
