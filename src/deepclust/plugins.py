"""Plug-ins: algorithms and datasets from other installed packages, found by entry point.

A package adds an algorithm by declaring, in its ``pyproject.toml``,

    [project.entry-points."deepclust.algorithms"]
    mymethod = "mypackage.mymethod:ALGORITHM"      # a deepclust.algorithms.base.Algorithm

and a dataset under the group ``deepclust.datasets`` (a ``deepclust.data.registry.Dataset``).
Once installed, the name works everywhere a built-in one does: the config and its schema (a
plug-in algorithm's block is generated from its parameter dataclass, like a built-in's: see
``deepclust.params`` for bounds and descriptions), the CLI, Snakemake and
the estimators (``deepclust.estimators``). A plug-in cannot replace a built-in name.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

ALGORITHMS_GROUP = "deepclust.algorithms"
DATASETS_GROUP = "deepclust.datasets"


def load(group: str, kind: type, builtin: dict[str, Any]) -> dict[str, Any]:
    """Every entry point of ``group``, loaded and checked: an instance of ``kind`` whose
    ``name`` is the entry point's and is not one of ``builtin``'s."""
    found: dict[str, Any] = {}
    for ep in entry_points(group=group):
        where = f"plug-in '{ep.name}' ({ep.value}, group {group})"
        try:
            obj = ep.load()
        except Exception as err:  # any import error of someone else's package
            raise ImportError(f"{where} failed to load: {type(err).__name__}: {err}") from err
        if not isinstance(obj, kind):
            raise TypeError(f"{where} is a {type(obj).__name__}, not a {kind.__name__}")
        if obj.name != ep.name:
            raise ValueError(f"{where} names itself '{obj.name}'; the two names must agree")
        if ep.name in builtin:
            raise ValueError(f"{where} would replace the built-in '{ep.name}'; rename it")
        found[ep.name] = obj
    return found


def registry(module_globals: dict, name: str, group: str, kind: type, builtin: dict) -> dict:
    """The registry ``name`` of a module (its ``globals()``): the built-ins and the plug-ins
    of ``group``, loaded on first use and kept there (not at import, so that a plug-in can
    import the module's types)."""
    if name not in module_globals:
        module_globals[name] = {**builtin, **load(group, kind, builtin)}
    return module_globals[name]
