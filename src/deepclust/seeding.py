"""Seeds and determinism: same config and seed give the same result on CPU."""

from __future__ import annotations

import random

import numpy as np
import torch


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


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when visible, else CPU; an explicit ``cuda`` that is absent is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device '{name}' was requested but no CUDA device is visible "
            "(set device: auto or cpu in config.yaml)"
        )
    return device


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
