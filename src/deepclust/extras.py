"""Optional dependencies: ``pip install deepclust`` brings what fitting needs; the workflow,
the figures and the raw-data readers are extras (``pyproject.toml``). ``require`` imports one
and, where it is missing, says which extra brings it."""

from __future__ import annotations

import importlib
from types import ModuleType

# top-level module → (the package that provides it, the extra that installs it)
EXTRAS = {
    "matplotlib": ("matplotlib", "report"),
    "umap": ("umap-learn", "report"),
    "h5py": ("h5py", "data"),
    "PIL": ("pillow", "data"),
    "nltk": ("nltk", "data"),
    "snakemake": ("snakemake", "workflow"),
    "dvc": ("dvc", "workflow"),
}


def require(module: str, feature: str) -> ModuleType:
    """``import module``, or an ImportError naming ``feature`` and the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        package, extra = EXTRAS[module.split(".")[0]]
        raise ImportError(
            f"{feature} needs {package}, which is in deepclust's '{extra}' extra: "
            f"pip install 'deepclust[{extra}]' (or '[all]')"
        ) from err
