"""The code a stage runs: the static import closure of its modules, as source files.

A stage depends on these files (DVC ``deps``, Snakemake inputs), so that editing a module
reruns every stage that imports it, directly or not. The closure is read from the sources
with ``ast`` (nothing is imported): every ``import`` of the module's own package or of
deepclust, at module level or inside a function, and the ``__init__`` of every package on the
way, which Python runs first. It may therefore name more than a run executes, never less.

Two modules are read with care, or every stage would depend on every module:

- the algorithm registry (``deepclust.algorithms``) imports every built-in algorithm to list
  them; a stage depends on the one algorithm it runs (``algorithm_module``) and on what that
  one imports (IDEC's and DCEC's fit import DEC's module, so they depend on it);
- the CLI (``deepclust.cli``) imports each stage's module inside that stage's handler; a
  stage depends on the imports of its own handler and of the CLI functions it calls (and
  ``deepclust/__init__.py``'s import of the estimators, made on first use, is not followed).
"""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

REGISTRY = "deepclust.algorithms"
CLI = "deepclust.cli"
# Modules whose imports inside functions are not followed: the package's (its estimators load
# on first use, never in a stage) and the CLI's (each handler's, see ``_handler_imports``).
LAZY = ("deepclust", CLI)


def closure(modules: tuple[str, ...], *, cli_handler: str | None = None) -> list[Path]:
    """Source files of ``modules`` and of everything they import (sorted, no duplicates).

    ``cli_handler`` names the function of ``deepclust.cli`` that runs the stage: the CLI's
    file and that handler's imports are included."""
    found: dict[str, Path] = {}
    todo = list(modules)
    if cli_handler is not None:
        todo += [CLI, *_handler_imports(cli_handler)]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found[name] = _source(name)
        todo += [m for m in _imports(name) if m not in found]
        todo += _parents(name)
    return sorted(set(found.values()))


def algorithm_module(name: str) -> str:
    """The module that defines algorithm ``name``'s fit (a plug-in's lives in its package)."""
    from deepclust.algorithms import get

    return get(name).fit.__module__


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def _source(module: str) -> Path:
    """The file of ``module``, found without importing more than its top-level package."""
    path = _path(module)
    if path is None:
        raise ImportError(f"cannot find the Python source of module '{module}'")
    return path


@cache
def _path(module: str) -> Path | None:
    top, _, rest = module.partition(".")
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin is None:
        return None
    if not rest:
        return Path(spec.origin).resolve() if spec.origin.endswith(".py") else None
    for folder in spec.submodule_search_locations or ():
        base = Path(folder, *rest.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate.resolve()
    return None


@cache
def _tree(module: str) -> ast.Module:
    return ast.parse(_source(module).read_text(), filename=str(_source(module)))


@cache
def _imports(module: str) -> tuple[str, ...]:
    """The modules of deepclust and of ``module``'s own top-level package that it imports."""
    if module in LAZY:
        return _imported(module, [n for n in _tree(module).body if not _is_function(n)])
    names = _imported(module, [_tree(module)])
    if module == REGISTRY:  # it lists the algorithms; each stage depends on its own one
        names = tuple(n for n in names if not n.startswith(REGISTRY + ".") or n.endswith(".base"))
    return names


def _handler_imports(handler: str) -> list[str]:
    """The imports of CLI function ``handler`` and of the CLI functions it calls."""
    functions = {n.name: n for n in _tree(CLI).body if _is_function(n)}
    if handler not in functions:
        raise ValueError(f"deepclust.cli has no function '{handler}'")
    seen, todo = set(), [handler]
    while todo:
        name = todo.pop()
        seen.add(name)
        calls = {
            c.func.id
            for c in ast.walk(functions[name])
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
        }
        todo += [c for c in calls if c in functions and c not in seen]
    return [m for name in sorted(seen) for m in _imported(CLI, [functions[name]])]


def _is_function(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)


def _imported(module: str, nodes: list[ast.AST]) -> tuple[str, ...]:
    package = module if _source(module).name == "__init__.py" else module.rpartition(".")[0]
    ours = {"deepclust", module.partition(".")[0]}
    names: list[str] = []
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            names.append(base)
            # `from package import module` imports a submodule when there is one
            names += [f"{base}.{a.name}" for a in node.names if _is_module(f"{base}.{a.name}")]
    return tuple(dict.fromkeys(n for n in names if n.partition(".")[0] in ours))


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _is_module(name: str) -> bool:
    return _path(name) is not None
