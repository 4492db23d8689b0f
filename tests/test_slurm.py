"""The HPC path: the tiny pipeline through a real (local) Slurm with the project's profile.

The command is the one users run, `snakemake --cores 8 --profile slurm` from the project
root, plus one speed flag (the executor's first status check otherwise waits 40 s).
conftest.py skips these tests where no Slurm runs; CI starts one and sets REQUIRE_SLURM=1.
The local Slurm's GPUs are fake (Slurm hands them out, torch cannot use them), so the config
allows the CPU fallback that a real site would leave off.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from deepclust import io, paths
from tests.conftest import ROOT, TINY_CONFIG

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

PROJECT_FILES = ("Snakefile", "workflow", "slurm", "src")
TIMEOUT_S = 420
THREADS = {"prepare": 1, "pretrain": 2, "init": 1, "fit": 2}  # the config's thread budget
RUN = paths.RunKey("digits", "dense", "dec", 0)
SUBMITTED = r"submitted with SLURM jobid (\d+) \(log: (\S+)\)"
RETRY = r"Trying to restart job"  # Snakemake saw the job fail and resubmits it (`retries`)


class Snakemake:
    """`snakemake --cores 8 --profile slurm` in ``workdir``, its output read line by line as it
    comes (``lines``: seconds since start, line), so a test can act on a running workflow."""

    def __init__(self, workdir: Path, *args: str, **env_vars: str):
        cmd = [str(Path(sys.executable).with_name("snakemake")), "--cores", "8"]
        cmd += ["--profile", "slurm", "--slurm-init-seconds-before-status-checks", "1", *args]
        env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env.update(env_vars)
        self.start = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, text=True, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.start, line))

    @property
    def output(self) -> str:
        return "".join(line for _, line in self.lines)

    def wait_for(self, pattern: str, timeout: float, after: float = 0.0) -> tuple[float, str]:
        """The first line at or after ``after`` seconds that matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, line in list(self.lines):
                if at >= after and re.search(pattern, line):
                    return at, line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.2)
        pytest.fail(f"no line matching {pattern!r} within {timeout} s:\n{self.output[-4000:]}")

    def __enter__(self) -> Snakemake:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:  # a failed test: cancel the run's Slurm jobs
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=60)

    def finish(self) -> subprocess.CompletedProcess:
        try:
            self.proc.wait(timeout=max(1.0, TIMEOUT_S - (time.monotonic() - self.start)))
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)  # cancels the run's Slurm jobs
            self.proc.wait(timeout=60)
            self._reader.join(timeout=10)
            pytest.fail(f"snakemake ran over {TIMEOUT_S} s:\n{self.output[-4000:]}")
        self._reader.join(timeout=10)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, self.output, "")


def _sacct(job_ids: list[str]) -> dict[str, dict[str, str]]:
    """Slurm's accounting record of each job (the allocation, not its steps)."""
    fields = "JobID,AllocTRES,Partition,State"
    out = subprocess.run(
        ["sacct", "-X", "--parsable2", "--noheader", "-j", ",".join(job_ids), f"--format={fields}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [dict(zip(fields.split(","), line.split("|"), strict=True)) for line in out.splitlines()]
    return {row["JobID"]: row for row in rows}


def _copy_project(workdir: Path) -> None:
    for name in PROJECT_FILES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, workdir / name)


def _write_config(workdir: Path, **changes) -> None:
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    cfg["algorithms"] = {"aekm": {}, "dec": cfg["algorithms"]["dec"]}  # each job costs seconds
    cfg |= {"threads": THREADS, "device": "auto", "allow_cpu_fallback": True, **changes}
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Two workflows run through Slurm with the profile at the same time (most of each is
    waiting on Slurm): the tiny pipeline (AE+k-means and DEC), and one on usps, whose raw
    files come from a mirror only, given an empty mirror: its prepare job fails."""
    workdir, failing_dir = (tmp_path_factory.mktemp(name) for name in ("slurm-pipeline", "fail"))
    _copy_project(workdir)
    _write_config(workdir)
    _copy_project(failing_dir)
    _write_config(failing_dir, datasets=["usps"])
    empty_mirror = tmp_path_factory.mktemp("empty-mirror")
    env = {"DEEPCLUST_MIRROR": str(empty_mirror), "DEEPCLUST_OFFLINE": "1"}
    # retries 0: the job would fail again
    with Snakemake(failing_dir, "--retries", "0", **env) as failing, Snakemake(workdir) as run:
        return {"pipeline": (workdir, run.finish()), "failing": (failing_dir, failing.finish())}


@pytest.fixture(scope="module")
def pipeline(runs) -> tuple[Path, subprocess.CompletedProcess]:
    return runs["pipeline"]


def test_training_jobs_get_a_gpu_and_each_run_is_one_job(pipeline):
    workdir, run = pipeline
    assert run.returncode == 0, run.stdout[-4000:]
    assert (workdir / "results" / "summary.csv").is_file()
    submitted = dict(re.findall(SUBMITTED, run.stdout))
    jobs = _sacct(list(submitted))
    kind = {job: Path(log).relative_to(workdir / ".snakemake" / "slurm_logs").parts[0]
            for job, log in submitted.items()}  # fmt: skip
    # evaluate and plot_run ride in their run's job; summarize and report run locally
    assert sorted(kind.values()) == ["group_run_evaluate_fit_plot_run"] * 2 + [
        "rule_init", "rule_prepare", "rule_pretrain"]  # fmt: skip
    for job, row in jobs.items():
        assert row["State"] == "COMPLETED", row
        assert Path(submitted[job]).is_file(), "the Slurm log of a successful job is kept"
        rule = kind[job].removeprefix("rule_")
        if rule in THREADS:  # one thread budget: Slurm's CPUs per task are the rule's threads
            assert f"cpu={THREADS[rule]}," in row["AllocTRES"] + ",", (rule, row)
    by_rule = {kind[job].removeprefix("rule_"): row for job, row in jobs.items()}
    pretrain = by_rule["pretrain"]
    assert "gres/gpu=1" in pretrain["AllocTRES"] and pretrain["Partition"] == "gpu", pretrain
    for rule in ("prepare", "init"):
        assert "gpu" not in by_rule[rule]["AllocTRES"] and by_rule[rule]["Partition"] == "debug"
    # each run's metrics.json names the Slurm job that fitted it: DEC's had a GPU, AE+k-means'
    # (which trains nothing) none; the fake GPU made DEC fall back to the CPU, as recorded
    for algorithm, gpu in (("dec", True), ("aekm", False)):
        key = paths.RunKey("digits", "dense", algorithm, 0)
        record = io.read_json(workdir / key.fmt(paths.RUN_METRICS))
        row = jobs[record["slurm_job_id"]]
        assert ("gres/gpu=1" in row["AllocTRES"]) == gpu, row
        assert row["Partition"] == ("gpu" if gpu else "debug"), row
        assert record["device"] == "cpu" and (record["gpus_given"] is not None) == gpu, record
        log = (workdir / f"logs/fit/digits/dense/{algorithm}/seed-0.log").read_text()
        assert f"Slurm job {record['slurm_job_id']}" in log and "fit on device cpu" in log
    assert "⚠ GPU unused" in (workdir / paths.REPORT).read_text()


def test_failing_job_is_reported_as_failed(runs):
    workdir, run = runs["failing"]
    assert run.returncode != 0
    assert "Error in rule prepare" in run.stdout, run.stdout[-4000:]
    assert "SLURM status is: 'FAILED'" in run.stdout, run.stdout[-4000:]
    assert not (workdir / "data" / "processed" / "usps.npz").exists()
    assert "usps" in (workdir / "logs" / "prepare" / "usps.log").read_text()


def test_cancelled_and_timed_out_fit_is_resubmitted_and_resumes_exactly(pipeline, tmp_path):
    """DEC's fit long enough to interrupt twice: `scancel` of its running job (Slurm records
    "CANCELLED by 0"), then its time limit, cut short mid-training on the resubmitted job. Both
    are retried (the profile's `retries`), the last attempt resumes from the checkpoint, and
    the result equals an uninterrupted run's, computed meanwhile by the CLI."""
    done, _ = pipeline
    _copy_project(tmp_path)
    for name in ("data/processed", "data/pretrained", "data/init", ".snakemake/metadata"):
        shutil.copytree(done / name, tmp_path / name)  # the same inputs, their times kept
    dec = {"preset": "fast", "max_iter": 6000, "update_interval": 100, "tol": 0.0}
    threads = {**THREADS, "fit": 1}
    _write_config(tmp_path, algorithms={"dec": dec}, threads=threads, checkpoint_every_s=1,
                  on_degenerate="warn")  # fmt: skip
    inputs = {
        "--pretrained": RUN.fmt(paths.AE_MODEL), "--init": RUN.fmt(paths.INIT),
        "--data": RUN.fmt(paths.DATA),
    }  # fmt: skip
    reference = subprocess.Popen(
        [str(Path(sys.executable).with_name("deepclust")), "fit", "--config", "config.yaml",
         "--algorithm", "dec", "--seed", "0", "--threads", "1", "--out", "reference",
         *(str(x) for pair in inputs.items() for x in pair)],
        cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    result = tmp_path / RUN.fmt(paths.RUN_RESULT)
    stage_log = tmp_path / "logs/fit/digits/dense/dec/seed-0.log"
    with Snakemake(tmp_path, str(result.relative_to(tmp_path))) as run:
        _, line = run.wait_for(SUBMITTED, timeout=120)
        first = re.search(SUBMITTED, line).group(1)
        _wait_until(lambda: (result.parent / ".checkpoint.pt").is_file(), "training starts", 120)
        _pause_training(result.parent)  # so that the cancel comes mid-training, however fast
        subprocess.run(["scancel", first], check=True)  # Slurm: SIGCONT, SIGTERM
        cancelled_at = time.monotonic() - run.start
        failed_at, _ = run.wait_for(RETRY, timeout=90, after=cancelled_at)
        assert failed_at - cancelled_at < 60, "a cancelled job is noticed within a minute"

        _, line = run.wait_for(SUBMITTED, timeout=120, after=failed_at)
        second = re.search(SUBMITTED, line).group(1)
        _wait_until(lambda: stage_log.is_file() and "resuming at step" in stage_log.read_text(),
                    "the resubmitted fit resumes", 120)  # fmt: skip
        checkpoint = result.parent / ".checkpoint.pt"
        resumed_from = checkpoint.stat().st_mtime_ns
        _wait_until(lambda: checkpoint.stat().st_mtime_ns != resumed_from,
                    "it trains on (its next checkpoint)", 60)  # fmt: skip
        _pause_training(result.parent)
        # its time limit, cut to now: Slurm ends it with TIMEOUT at its next check (<= 30 s)
        subprocess.run(["scontrol", "update", f"JobId={second}", "EndTime=now"], check=True)
        failed_at, _ = run.wait_for(RETRY, timeout=120, after=failed_at + 1)
        resumed_at = _resumed_step(stage_log)

        _, line = run.wait_for(SUBMITTED, timeout=120, after=failed_at)
        third = re.search(SUBMITTED, line).group(1)
        finished = run.finish()
    assert finished.returncode == 0, finished.stdout[-4000:]
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-2000:]
    states = {job: row["State"] for job, row in _sacct([first, second, third]).items()}
    assert states == {first: "CANCELLED by 0", second: "TIMEOUT", third: "COMPLETED"}
    assert _resumed_step(stage_log) > resumed_at > 0  # each attempt went on from the last
    resumed, uninterrupted = io.read_npz(result), io.read_npz(tmp_path / "reference/result.npz")
    for name in ("labels", "embedding", "centers"):
        assert np.array_equal(resumed[name], uninterrupted[name]), name
    history = pd.read_csv(result.parent / "history.csv")
    assert history.equals(pd.read_csv(tmp_path / "reference/history.csv"))
    assert history["step"].max() > 5000  # all of the run, not a resumed tail


def _wait_until(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.2)


def _pause_training(run_dir: Path) -> None:
    """Stop (SIGSTOP) the fit that holds ``run_dir``'s lock: its job stays RUNNING for Slurm,
    whose cancel or time-out then sends SIGCONT and SIGTERM, so the stage checkpoints there."""
    pid = io.read_json(run_dir / ".lock")["pid"]
    os.kill(pid, signal.SIGSTOP)


def _resumed_step(stage_log: Path) -> int:
    return int(re.search(r"resuming at step (\d+)", stage_log.read_text()).group(1))
