"""Shared fixtures: tiny, deterministic data and autoencoders on the CPU; the `slurm` marker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
import torch

from deepclust.algorithms.base import InitialClustering
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import ConvAutoencoder, FeedforwardAutoencoder, embed
from deepclust.seeding import seed_everything

ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = ROOT / "tests" / "config.tiny.yaml"

# Floors for digits runs with tiny settings that no degenerate labelling meets: a constant
# labelling scores ACC 0.102 and NMI 0, the best labelling with two clusters ACC 0.203 (the two
# largest classes), uniformly random labels at most ACC 0.140 and NMI 0.013 (20 draws). The
# tiny runs measure ACC 0.26-0.42 and NMI 0.18-0.33 (2 pretraining epochs, a few steps).
DIGITS_MIN_ACC = 0.21
DIGITS_MIN_NMI = 0.1

# One torch thread per test process, as each stage gets under Snakemake: the tests run in
# parallel (pytest-xdist, a worker per core), and more threads than cores slows all of them.
torch.set_num_threads(1)


@pytest.fixture
def blobs() -> tuple[torch.Tensor, np.ndarray]:
    """Three well separated clusters of 30 points in 8-D, values in [0, 1]."""
    rng = np.random.default_rng(0)
    centers = rng.uniform(0.1, 0.9, size=(3, 8))
    y = np.repeat(np.arange(3), 30)
    X = centers[y] + 0.03 * rng.standard_normal((90, 8))
    return torch.tensor(X, dtype=torch.float32), y


@pytest.fixture
def tiny_ae(blobs) -> FeedforwardAutoencoder:
    seed_everything(0)
    return FeedforwardAutoencoder([8, 16, 3])


@pytest.fixture
def tiny_init(blobs, tiny_ae) -> InitialClustering:
    X, _ = blobs
    return kmeans_init(embed(tiny_ae, X).numpy(), 3, n_init=5, max_iter=100, seed=0)


@pytest.fixture
def tiny_images() -> tuple[torch.Tensor, np.ndarray]:
    """Three clusters of 30 noisy copies of random 8×8 one-channel images, as flat rows."""
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(0.1, 0.9, size=(3, 64))
    y = np.repeat(np.arange(3), 30)
    X = prototypes[y] + 0.03 * rng.standard_normal((90, 64))
    return torch.tensor(X, dtype=torch.float32), y


@pytest.fixture
def tiny_conv_ae(tiny_images) -> ConvAutoencoder:
    seed_everything(0)
    return ConvAutoencoder((1, 8, 8), channels=[4, 8, 8], embedding_dim=3)


@pytest.fixture
def tiny_conv_init(tiny_images, tiny_conv_ae) -> InitialClustering:
    X, _ = tiny_images
    return kmeans_init(embed(tiny_conv_ae, X).numpy(), 3, n_init=5, max_iter=100, seed=0)


def run_snakemake(workdir: Path, env: dict, *args: str) -> str:
    """Run the project's Snakefile in ``workdir``; fail the test with its output if it fails."""
    cmd = ["snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, project_env) -> Path:
    """The tiny pipeline, run once per session by Snakemake in a temporary folder."""
    workdir = tmp_path_factory.mktemp("tiny-run")
    shutil.copy(TINY_CONFIG, workdir / "config.yaml")
    run_snakemake(workdir, project_env, "--configfile", str(workdir / "config.yaml"))
    return workdir


@pytest.fixture(scope="session")
def project_env() -> dict[str, str]:
    """Environment for subprocesses: this interpreter's bin first on PATH, no GPU."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def pytest_configure(config):
    """Refuse to run in parallel where xdist's ``--dist loadgroup`` would silently not group:
    each shared fixture would then be built on every worker (minutes each). pytest-xdist 3.8
    marks a group in the test's node id, which pytest 9.2 no longer lets it change
    (pytest-xdist issue 1386), so the dev extra keeps pytest below 9.2 until xdist follows."""
    if config.getoption("dist", "no") != "loadgroup" or not config.getoption("numprocesses"):
        return
    pytest_version, xdist_version = (_major_minor(name) for name in ("pytest", "pytest-xdist"))
    if pytest_version >= (9, 2) and xdist_version <= (3, 8):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} breaks pytest-xdist's --dist loadgroup (xdist issue "
            "1386): install the dev extra (pip install -e '.[dev]': pytest < 9.2) or run -n 0"
        )


def _major_minor(distribution: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version(distribution))[:2])


def slurm_unavailable_reason() -> str | None:
    """None if a local Slurm can take jobs, else why not (see shared/slurm-local)."""
    for tool in ("sbatch", "squeue", "scontrol", "sinfo", "sacct"):
        if shutil.which(tool) is None:
            return f"`{tool}` not on PATH; start a local Slurm with ../shared/slurm-local/setup.sh"
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
        if "is UP" not in ping.stdout:
            return f"slurmctld not reachable ({(ping.stdout or ping.stderr).strip()[:200]})"
        states = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20
        ).stdout.split()
    except subprocess.TimeoutExpired:
        return "Slurm commands timed out"
    if not {"idle", "mixed", "allocated"} & set(states):
        return f"no node can take jobs (sinfo states: {states})"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[hpc]')"
    return None


@pytest.hookimpl(optionalhook=True)  # a hook of xdist, which `-p no:xdist` leaves out
def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per core, and one more where the Slurm tests run: their worker
    mostly waits (on Slurm's queue and status checks) while the jobs it waits for are small."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + (slurm_unavailable_reason() is None)


def _order(item) -> int:
    """Where a test's xdist group is sent: the Slurm chain first, then the readers of the tiny
    pipeline (the longest other group), then the groups that share a module fixture, then
    single slow tests, then the rest."""
    group = item.get_closest_marker("xdist_group")
    if group:
        return {"slurm": 0, "tiny_run": 1}.get(group.args[0], 2)
    return 3 if item.get_closest_marker("slow") else 4


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups set here
def pytest_collection_modifyitems(config, items):
    """Group the tests for pytest-xdist (``--dist loadgroup``): those that read the session's
    ``tiny_run`` share one worker, so the tiny pipeline runs once; so do a module's tests that
    share a module-scoped fixture (a Snakemake or DVC run, an installed plug-in); the Slurm
    tests share one, so their pipeline runs once. The longest groups come first (xdist sends
    groups in this order, ``--no-loadscope-reorder``), so that no long one starts last. Skip
    `slurm` tests, with the reason, where no Slurm runs; with REQUIRE_SLURM=1 (CI) fail
    instead, so that a broken Slurm cannot pass as a skip."""
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        scopes = {d[-1].scope for d in fixtures.name2fixturedefs.values()} if fixtures else set()
        if item.get_closest_marker("slurm"):
            item.add_marker(pytest.mark.xdist_group("slurm"))
        elif "tiny_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("tiny_run"))
        elif "module" in scopes:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    items.sort(key=_order)  # stable: a module's tests that share a fixture stay together
    slurm_items = [item for item in items if item.get_closest_marker("slurm")]
    reason = slurm_unavailable_reason() if slurm_items else None
    if reason is None:
        return
    if os.environ.get("REQUIRE_SLURM") == "1":
        raise pytest.UsageError(f"REQUIRE_SLURM=1 but the local Slurm is not usable: {reason}")
    for item in slurm_items:
        item.add_marker(pytest.mark.skip(reason=f"no local Slurm: {reason}"))
