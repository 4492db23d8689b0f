"""What produced an artifact: the versions that change numbers, recorded beside the weights."""

from __future__ import annotations

import hashlib
import platform
from functools import cache
from importlib import metadata
from pathlib import Path

CONSTRAINTS = Path(__file__).resolve().parents[2] / "workflow" / "envs" / "constraints.txt"


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
