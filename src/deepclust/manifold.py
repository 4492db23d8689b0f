"""umap-learn's compiled functions, cached on disk (the report's 2-D view and N2D use UMAP)."""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger("deepclust")


def cache_umap_compilation() -> None:
    """Let numba cache umap-learn's compiled functions on disk (most lack ``cache=True``).

    Compiling them takes ~15 s in every fresh process, which is most of a ``plot-run`` job; with
    the cache a later job starts in a second. The results are the same either way.
    """
    try:
        from numba.core.dispatcher import Dispatcher

        for name in ("umap_", "layouts", "utils", "spectral", "distances", "sparse"):
            module = importlib.import_module(f"umap.{name}")
            for obj in vars(module).values():
                if isinstance(obj, Dispatcher):
                    obj.enable_caching()
    except Exception as err:  # only a speed-up: never fail over it
        log.debug("numba caching for umap not enabled: %s", err)
