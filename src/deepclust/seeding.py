"""Seeds and determinism: same config and seed give the same result on CPU."""

from __future__ import annotations

import logging
import random

import numpy as np
import torch

from deepclust.provenance import gpus_given

log = logging.getLogger("deepclust")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch; switch torch to deterministic kernels.

    Returns a CPU generator that every sampling step (batch order, noise) draws from, so a
    stage's randomness is a function of its seed alone.
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (legacy global state some libraries still draw from)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def resolve_device(name: str, allow_cpu_fallback: bool = False) -> torch.device:
    """The torch device for ``name`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    ``auto`` is CUDA when torch can use it, else the CPU, but only where no GPU was given: in a
    job that Slurm gave a GPU (``provenance.gpus_given``), or with ``cuda`` requested, a torch
    that cannot use one (its CPU build, a driver too old for it) is an error naming why, not a
    silent run on the CPU, unless ``allow_cpu_fallback`` (then a warning). ``cpu`` is the CPU
    even where a GPU was given (with a warning that it idles)."""
    given = gpus_given()
    if name == "cpu":
        if given:
            log.warning("the job was given a GPU (%s) but the config says device: cpu", given)
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda" if name == "auto" else name)
    if name == "auto" and not given:
        return torch.device("cpu")
    wanted = f"device '{name}' was requested" if name != "auto" else f"a GPU was given ({given})"
    problem = f"{wanted} but torch {torch.__version__} cannot use a GPU: {cuda_problem()}"
    if allow_cpu_fallback:
        log.warning("%s; running on the CPU (allow_cpu_fallback: true)", problem)
        return torch.device("cpu")
    raise RuntimeError(
        f"{problem}. Install torch's CUDA build (on a GPU node `bash scripts/install.sh`, "
        "elsewhere `bash scripts/install.sh --cuda`; docs/hpc.md), or to run on the CPU set "
        "device: cpu, or allow_cpu_fallback: true, in the config"
    )


def cuda_problem() -> str:
    """Why torch cannot use CUDA: its CPU build, no driver, a driver too old, no device."""
    if torch.version.cuda is None:
        return "it is the CPU build (no CUDA support compiled in)"
    try:
        torch.cuda.init()
    except (RuntimeError, AssertionError) as err:
        return f"CUDA {torch.version.cuda} build, {str(err).strip().splitlines()[0]}"
    return f"CUDA {torch.version.cuda} build, but it sees no CUDA device"


def thread_budget(stage: str, config: dict, requested: int | None = None) -> int:
    """A job's CPU threads: the config's ``threads.<stage>``, or ``requested`` (the CLI's
    ``--threads``, for a run by hand). Never the runner's environment (``OMP_NUM_THREADS``,
    which Snakemake sets and DVC does not): the count changes the last bits of a result, so
    Snakemake, DVC and a plain CLI call must use the same one."""
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--threads must be at least 1, got {requested}")
        return requested
    return int(config["threads"][stage])


def use_threads(n: int) -> None:
    """Run torch's intra-op work and every OpenMP/BLAS pool (scikit-learn's k-means) on ``n``
    threads. Results are bit-identical only for the same ``n``."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)
