"""The HPC path: the tiny pipeline through a real (local) Slurm with the project's profile.

The command is the one users run, `snakemake --cores 8 --profile slurm` from the project
root, plus one speed flag (the executor's first status check otherwise waits 40 s).
conftest.py skips these tests where no Slurm runs; CI starts one and sets REQUIRE_SLURM=1.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, TINY_CONFIG

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

PROJECT_FILES = ("Snakefile", "workflow", "slurm", "src")
TIMEOUT_S = 420
GPU_RULES = {"pretrain", "fit"}
THREADS = {"prepare": 1, "pretrain": 2, "init": 1, "fit": 2}  # the config's thread budget


def _snakemake_slurm(workdir: Path, **env_vars: str) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--cores", "8", "--profile", "slurm"]
    cmd += ["--slurm-init-seconds-before-status-checks", "1"]
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(env_vars)
    proc = subprocess.Popen(
        cmd, cwd=workdir, env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # cancels the run's Slurm jobs
        out, _ = proc.communicate(timeout=60)
        pytest.fail(f"snakemake ran over {TIMEOUT_S} s:\n{out[-4000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def _slurm_jobs(snakemake_output: str) -> dict[str, list[dict[str, str]]]:
    """Slurm's own accounting records of the jobs a run submitted, grouped by rule."""
    pattern = r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_([^/]+)/"
    rule_of = dict(re.findall(pattern, snakemake_output))
    assert rule_of, snakemake_output[-4000:]
    fields = "JobID,AllocTRES,Partition,State"
    out = subprocess.run(
        ["sacct", "-X", "--parsable2", "--noheader", "-j", ",".join(rule_of), f"--format={fields}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    jobs: dict[str, list[dict[str, str]]] = {}
    for line in out.splitlines():
        row = dict(zip(fields.split(","), line.split("|"), strict=True))
        jobs.setdefault(rule_of[row["JobID"]], []).append(row)
    return jobs


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in PROJECT_FILES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, tmp_path / name)
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    cfg["algorithms"] = {"dec": cfg["algorithms"]["dec"]}  # fewer jobs: each costs seconds
    cfg["threads"] = THREADS
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path


def test_gpu_stages_request_a_gpu_and_cpu_stages_do_not(workdir: Path):
    run = _snakemake_slurm(workdir)
    assert run.returncode == 0, run.stdout[-4000:]
    assert (workdir / "results" / "summary.csv").is_file()
    jobs = _slurm_jobs(run.stdout)
    assert {"prepare", "pretrain", "init", "fit", "evaluate"} <= set(jobs), jobs
    for rule, rows in jobs.items():
        for row in rows:
            assert row["State"] == "COMPLETED", row
            has_gpu = "gres/gpu=1" in row["AllocTRES"]
            assert has_gpu == (rule in GPU_RULES), (rule, row)
            assert row["Partition"] == ("gpu" if rule in GPU_RULES else "debug"), (rule, row)
            # one thread budget: Slurm's CPUs per task are the rule's `threads:`
            assert f"cpu={THREADS.get(rule, 1)}," in row["AllocTRES"] + ",", (rule, row)


def test_failing_job_is_reported_as_failed(workdir: Path, tmp_path_factory):
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["datasets"] = ["usps"]  # its raw file comes from a mirror only, and this one is empty
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    empty_mirror = tmp_path_factory.mktemp("empty-mirror")
    run = _snakemake_slurm(workdir, DEEPCLUST_MIRROR=str(empty_mirror), DEEPCLUST_OFFLINE="1")
    assert run.returncode != 0
    assert "Error in rule prepare" in run.stdout, run.stdout[-4000:]
    assert "SLURM status is: 'FAILED'" in run.stdout, run.stdout[-4000:]
    assert not (workdir / "data" / "processed" / "usps.npz").exists()
    assert "usps" in (workdir / "logs" / "prepare" / "usps.log").read_text()
