"""The algorithm registry: one module per algorithm, each exporting ``ALGORITHM``."""

from __future__ import annotations

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

ALGORITHMS: dict[str, Algorithm] = {
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


def get(name: str) -> Algorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm '{name}'; known: {', '.join(ALGORITHMS)}") from None
