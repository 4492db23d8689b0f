"""Seeds and determinism: same config and seed give the same result on CPU."""

from __future__ import annotations

import os
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
    """A job's CPU threads: ``requested`` (the CLI's ``--threads``, which Snakemake rules
    pass), else ``$OMP_NUM_THREADS``, else the config's ``threads.<stage>``."""
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--threads must be at least 1, got {requested}")
        return requested
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"$OMP_NUM_THREADS must be a positive integer, got '{env}'")
        return int(env)
    return int(config["threads"][stage])


def use_threads(n: int) -> None:
    """Run torch's intra-op work and every OpenMP/BLAS pool (scikit-learn's k-means) on ``n``
    threads. Results are bit-identical only for the same ``n``."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)
