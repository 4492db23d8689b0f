"""The algorithm registry: one module per algorithm, each exporting ``ALGORITHM``, plus the
algorithms of installed plug-ins (``deepclust.plugins``)."""

from __future__ import annotations

from deepclust import plugins
from deepclust.algorithms import (
    acedec,
    aec,
    aekm,
    damic,
    dcec,
    dcn,
    ddc,
    dec,
    dekm,
    den,
    dipencoder,
    dkm,
    dynae,
    idec,
    n2d,
    vade,
)
from deepclust.algorithms.base import Algorithm

_BUILTIN: dict[str, Algorithm] = {
    a.name: a
    for a in (
        aekm.ALGORITHM,
        dec.ALGORITHM,
        idec.ALGORITHM,
        dcec.ALGORITHM,
        dcn.ALGORITHM,
        aec.ALGORITHM,
        dkm.ALGORITHM,
        dekm.ALGORITHM,
        damic.ALGORITHM,
        dynae.ALGORITHM,
        n2d.ALGORITHM,
        den.ALGORITHM,
        ddc.ALGORITHM,
        acedec.ALGORITHM,
        dipencoder.ALGORITHM,
        vade.ALGORITHM,
    )
}


def registry() -> dict[str, Algorithm]:
    """The built-in algorithms and the plug-ins' (``deepclust.plugins``)."""
    return plugins.registry(globals(), "ALGORITHMS", plugins.ALGORITHMS_GROUP, Algorithm, _BUILTIN)


def __getattr__(name: str):
    if name == "ALGORITHMS":  # the registry, as a module attribute
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get(name: str) -> Algorithm:
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(registry())
        raise ValueError(f"unknown algorithm '{name}'; known: {known}") from None
