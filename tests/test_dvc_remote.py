"""Snakemake executes, DVC versions (DESIGN.md, Decision 6), as a team uses it (docs/team.md).

One git + DVC repository of the project runs the tiny pipeline with Snakemake once; a second
`snakemake` started while it runs must refuse with Snakemake's lock message. The run is then
recorded for DVC without rerunning anything, pushed to a folder remote, cloned and pulled, and
neither DVC nor Snakemake may find anything to redo in the clone; a changed hyperparameter of
one algorithm makes only that algorithm's stages stale.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tests.conftest import ROOT, TINY_CONFIG

pytestmark = pytest.mark.slow

# What a user copies, commits and runs: the workflow, the DVC pipeline and the code.
PROJECT_FILES = (
    "Snakefile",
    "workflow",
    "dvc.yaml",
    ".dvcignore",
    ".gitignore",
    "data/.gitignore",
    "data/README.md",
    "src",
    "profiles",
)
LOCK_MESSAGE = "Error: Directory cannot be locked."
INCOMPLETE_MESSAGE = "IncompleteFilesException"
NOTHING_TO_DO = "Nothing to be done"
UP_TO_DATE = "Data and pipelines are up to date"
# The documented step after `dvc commit -f` and `dvc pull` (docs/team.md).
TOUCH = ("snakemake", "--touch", "--forceall", "--cores", "1")


def _run(cwd: Path, env: dict, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _out(cwd: Path, env: dict, *cmd: str) -> str:
    proc = _run(cwd, env, *cmd)
    return proc.stdout + proc.stderr


def _digests(root: Path) -> dict[str, str]:
    """The artifacts' contents (not the stages' local `.kept/` copies, which DVC never shares)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in ("data", "results")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file() and path.name != ".gitignore" and ".kept" not in path.parts
    }


def _changed_stages(dvc_status: str) -> set[str]:
    """Stage names in `dvc status` output (the unindented `name:` lines)."""
    return {line[:-1] for line in dvc_status.splitlines() if re.fullmatch(r"\S+:", line)}


@pytest.fixture(scope="module")
def git_env(project_env) -> dict[str, str]:
    return {
        **project_env,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
    }


@pytest.fixture(scope="module")
def pipeline_repo(tmp_path_factory, git_env) -> SimpleNamespace:
    """A git + DVC repository of the project where `snakemake --cores 2` ran the tiny config,
    and the outcome of a second `snakemake` started in it while the first was running."""
    repo = tmp_path_factory.mktemp("dvc-project") / "project"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=ignore)
        elif source.exists():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, repo / name)
    shutil.copy(TINY_CONFIG, repo / "config.yaml")
    _run(repo, git_env, "deepclust", "dvc-yaml")  # dvc.yaml for this config's lists
    _run(repo, git_env, "git", "init", "-q")
    _run(repo, git_env, "dvc", "init", "-q")
    _run(repo, git_env, "git", "add", "-A")
    _run(repo, git_env, "git", "commit", "-qm", "project")

    locks = repo / ".snakemake" / "locks"
    with open(repo.parent / "first-snakemake.log", "w+") as log:
        first = subprocess.Popen(
            ["snakemake", "--cores", "2"], cwd=repo, env=git_env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 120
            while not (locks.is_dir() and any(locks.iterdir())):
                assert first.poll() is None, "the first snakemake ended before it locked"
                assert time.monotonic() < deadline, "the first snakemake never locked"
                time.sleep(0.1)
            second = _run(repo, git_env, "snakemake", "--cores", "2", check=False)
            # What the refusal of a job in flight suggests (it would redo that job): refused too.
            third = _run(
                repo, git_env, "snakemake", "--cores", "2", "--rerun-incomplete", check=False
            )
            still_running = first.poll() is None
            first_rc = first.wait(timeout=600)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        log.seek(0)
        first_log = log.read()
    return SimpleNamespace(
        path=repo,
        second=second,
        third=third,
        still_running=still_running,
        first_rc=first_rc,
        first_log=first_log,
    )


def test_a_second_snakemake_in_the_same_folder_refuses_while_the_first_runs(pipeline_repo, git_env):
    # Snakemake 9 refuses before it locks if a job of the first run is in flight (its outputs
    # are marked incomplete), else at the lock; --rerun-incomplete always meets the lock.
    second, third = pipeline_repo.second, pipeline_repo.third
    assert pipeline_repo.still_running
    assert second.returncode != 0
    assert LOCK_MESSAGE in second.stderr or INCOMPLETE_MESSAGE in second.stderr, second.stderr
    assert third.returncode != 0
    assert LOCK_MESSAGE in third.stderr, third.stderr[-3000:]
    assert pipeline_repo.first_rc == 0, pipeline_repo.first_log[-3000:]
    repo = pipeline_repo.path
    locks = repo / ".snakemake" / "locks"
    assert not locks.exists() or not any(locks.iterdir())  # the first run released its lock
    summary = (repo / "results" / "summary.csv").read_text()
    assert all(algorithm in summary for algorithm in ("aekm", "dec"))
    assert NOTHING_TO_DO in _out(repo, git_env, "snakemake", "-n")


def test_a_snakemake_run_recorded_for_dvc_is_reproduced_by_a_clone_without_rerunning(
    pipeline_repo, git_env, tmp_path
):
    repo = pipeline_repo.path
    assert pipeline_repo.first_rc == 0, pipeline_repo.first_log[-3000:]
    before = _digests(repo)
    benchmarks = sorted(p.stat().st_mtime_ns for p in (repo / "benchmarks").rglob("*.tsv"))

    # Record the finished run for DVC: hashes into dvc.lock and the cache, no stage runs.
    commit = _out(repo, git_env, "dvc", "commit", "-f")
    assert "Running stage" not in commit
    assert _digests(repo) == before
    assert sorted(p.stat().st_mtime_ns for p in (repo / "benchmarks").rglob("*.tsv")) == (
        benchmarks
    )
    assert UP_TO_DATE in _out(repo, git_env, "dvc", "status")
    # `dvc commit` rewrites the cached outputs with new mtimes; one touch in DAG order makes
    # Snakemake agree again, also for inputs too large for its checksums (real datasets).
    _run(repo, git_env, *TOUCH)
    assert NOTHING_TO_DO in _out(repo, git_env, "snakemake", "-n", "--max-checksum-file-size", "1")
    assert _digests(repo) == before

    remote = tmp_path / "remote"
    _run(repo, git_env, "dvc", "remote", "add", "-d", "shared", str(remote))
    _run(repo, git_env, "git", "add", "dvc.lock", ".dvc/config")
    _run(repo, git_env, "git", "add", "-f", "results")  # cache: false outs live in git
    _run(repo, git_env, "git", "commit", "-qm", "tiny results")
    _run(repo, git_env, "dvc", "push")

    clone = tmp_path / "clone"
    _run(tmp_path, git_env, "git", "clone", "-q", str(repo), str(clone))
    _run(clone, git_env, "dvc", "pull")
    assert _digests(clone) == before
    assert UP_TO_DATE in _out(clone, git_env, "dvc", "status")
    _run(clone, git_env, *TOUCH)
    assert NOTHING_TO_DO in _out(clone, git_env, "snakemake", "-n")
    assert NOTHING_TO_DO in _out(clone, git_env, "snakemake", "-n", "--max-checksum-file-size", "1")
    repro = _out(clone, git_env, "dvc", "repro")
    assert "Running stage" not in repro
    stages = re.findall(r"Stage '([^']+)' didn't change, skipping", repro)
    assert {"summarize", "report", "fit-dec@digits-dense-0"} <= set(stages)
    assert UP_TO_DATE in _out(clone, git_env, "dvc", "status")
    assert _digests(clone) == before

    # One algorithm's hyperparameter: only that algorithm's fit is stale for DVC, and
    # Snakemake (with the provenance the touch recorded) reruns it and what depends on it.
    config = yaml.safe_load((clone / "config.yaml").read_text())
    config["algorithms"]["dec"]["max_iter"] += 1
    (clone / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # (and summarize, whose DVC params are the config's lists: its whole `algorithms` block)
    changed = _changed_stages(_out(clone, git_env, "dvc", "status"))
    assert changed == {"fit-dec@digits-dense-0", "summarize"}, changed
    dry = _out(clone, git_env, "snakemake", "-n")
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", dry, flags=re.MULTILINE))
    assert jobs == {
        "fit": "1",
        "evaluate": "1",
        "plot_run": "1",
        "summarize": "1",
        "report": "1",
        "all": "1",
        "total": "6",
    }, dry
    assert "algorithm=dec" in dry and "algorithm=aekm" not in dry
