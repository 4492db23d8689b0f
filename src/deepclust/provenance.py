"""What produced an artifact: the versions that change numbers, recorded beside the weights,
and where a stage ran (host, Slurm job, the GPUs it was given, the device torch used)."""

from __future__ import annotations

import hashlib
import os
import platform
import socket
from functools import cache
from importlib import metadata
from pathlib import Path

CONSTRAINTS = Path(__file__).resolve().parents[2] / "workflow" / "envs" / "constraints.txt"

# The variables by which Slurm (or a person) hands a process GPUs, most specific first.
GPU_VARIABLES = ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES")
NO_GPU = {"", "-1", "none", "NoDevFiles"}


@cache
def environment() -> dict[str, str]:
    """Python, torch, NumPy and scikit-learn (whose k-means makes every initial clustering)
    versions, deepclust's, and the digest of the pinned environment (constraints.txt) when the
    package runs from its source tree."""
    versions = {"python": platform.python_version()}
    for name in ("deepclust", "torch", "numpy", "scikit-learn"):
        versions[name] = metadata.version(name)
    if CONSTRAINTS.is_file():
        digest = hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:16]
        versions["constraints_sha256"] = digest
    return versions


def gpus_given() -> str | None:
    """The GPUs this process was given, as ``VARIABLE=value`` (``SLURM_JOB_GPUS=0``), or None:
    Slurm sets ``SLURM_STEP_GPUS``/``SLURM_JOB_GPUS``, ``SLURM_GPUS_ON_NODE`` and
    ``CUDA_VISIBLE_DEVICES`` in a job that asked for ``--gpus`` or ``--gres=gpu``."""
    for name in GPU_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value not in NO_GPU:
            return f"{name}={value}"
    count = os.environ.get("SLURM_GPUS_ON_NODE", "").strip()
    if count.isdigit() and int(count) > 0:
        return f"SLURM_GPUS_ON_NODE={count}"
    return None


def where() -> dict[str, str | None]:
    """The host, the Slurm job (``SLURM_JOB_ID``, None outside Slurm) and the GPUs given."""
    return {
        "host": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID") or None,
        "gpus_given": gpus_given(),
    }


def device_record(device) -> dict[str, str | None]:
    """:func:`where` plus the torch device a stage computes on, its name (the GPU's, or the
    CPU model), and the torch and CUDA versions (CUDA None for torch's CPU build)."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = _cpu_model()
    return {
        **where(),
        "device": str(device),
        "device_name": name,
        "torch": str(torch.__version__),
        "cuda": torch.version.cuda,
    }


def describe(record: dict) -> str:
    """One log line: ``device cuda:0 (NVIDIA H200), torch 2.13.0, CUDA 12.8, host n01, Slurm
    job 4242, GPUs given SLURM_JOB_GPUS=0``."""
    parts = []
    if "device" in record:
        parts += [
            f"device {record['device']} ({record['device_name']})",
            f"torch {record['torch']}",
            f"CUDA {record['cuda'] or 'none (CPU build)'}",
        ]
    parts.append(f"host {record['host']}")
    parts.append(f"Slurm job {record['slurm_job_id']}" if record["slurm_job_id"] else "no Slurm")
    parts.append(f"GPUs given {record['gpus_given'] or 'none'}")
    return ", ".join(parts)


@cache
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
