"""Published numbers beside ours: a lookup over ``data_files/published-results.json``.

The JSON (232 records, copied from ``shared/papers/published-results.json`` and shipped as package
data) holds every number of the result tables of the DEKM (002), DynAE (003) and DAMIC (004)
papers and the survey's text (000), each with ``value_fraction`` normalised to [0, 1].
``data_files/published-other-papers.json`` adds, in the same format, numbers from papers outside
``shared/papers`` (N2D's); there ``paper`` is a citation and ``notes`` says where each number was
read, since the paper itself could not be checked here.

One (dataset, algorithm, metric) can have several published numbers (DEC on MNIST: 84.30 in 002,
0.863 in 003, 0.84 in 004). :func:`reference` picks the one to print: the method's own paper
(DEKM in 002, DynAE in 003, DAMIC in 004, N2D in its own), else a number that 002 marks as
copied from the original paper, else the median of the reported values; :func:`lookup` returns
all of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Our dataset names → the JSON's. digits has no published number in these papers.
DATASETS = {
    "mnist": "MNIST-full",
    "mnist_test": "MNIST-test",
    "usps": "USPS",
    "usps_signed": "USPS",  # the same images in [-1, 1]
    "fashion_mnist": "Fashion-MNIST",
    "coil20": "COIL-20",  # 002 resizes COIL-20 to 28x28; our variants map to the same row
    "coil20_32": "COIL-20",
    "coil20_128": "COIL-20",
    "20news": "20NEWS",
    "reuters10k": "REUTERS-10K",
    "rcv1_10k": "RCV1-10K",
    "damic_synthetic": "synthetic",  # DAMIC Eq. 8 (004 Table 2: NMI and ARI only)
}
# Our algorithm names → the JSON's. aec has no published number in these papers.
ALGORITHMS = {
    "aekm": "AE+k-means",
    "dec": "DEC",
    "idec": "IDEC",
    "dcn": "DCN",
    "dkm": "DKM",
    "dekm": "DEKM",
    "dynae": "DynAE",
    "damic": "DAMIC",
    "dcec": "DCEC",
    "n2d": "N2D",
    "vade": "VaDE",  # 003 Table 3
}
# The paper (file prefix) that introduced a method, where it is in the set.
OWN_PAPER = {
    "DEKM": "002",
    "DynAE": "003",
    "DAMIC": "004",
    "N2D": "N2D (McConville et al., ICPR 2020)",
}
FILES = ("published-results.json", "published-other-papers.json")
METRICS = ("acc", "nmi", "ari")


@dataclass(frozen=True)
class Published:
    """One published number."""

    dataset: str  # the JSON's name, e.g. "MNIST-full"
    method: str  # the JSON's name, e.g. "DEC"
    metric: str  # "acc" | "nmi" | "ari"
    value: float  # as a fraction in [0, 1]
    printed: str  # as printed in the paper ("84.30*", "0.863")
    paper: str  # the file prefix of a paper in shared/papers ("002"), else a citation
    table: str  # "Table III"
    from_original_paper: bool  # 002's "*": copied from the method's own paper

    @property
    def source(self) -> str:
        """Where the number is printed: "002 Table III"."""
        return f"{self.paper} {self.table}"


@cache
def records() -> tuple[Published, ...]:
    """Every ACC/NMI/ARI record of the shipped JSON files."""
    folder = resources.files("deepclust").joinpath("data_files")
    rows = [r for name in FILES for r in json.loads(folder.joinpath(name).read_text())]
    out = []
    for r in rows:
        metric = r["metric"].lower()
        if metric not in METRICS:
            continue  # REC, SIL: not clustering metrics we report
        out.append(
            Published(
                dataset=r["dataset"],
                method=r["method"],
                metric=metric,
                value=float(r["value_fraction"]),
                printed=str(r["value_printed"]),
                paper=_paper(r["paper"]),
                table=r["table"],
                from_original_paper=bool(r["from_original_paper"]),
            )
        )
    return tuple(out)


def lookup(dataset: str, algorithm: str, metric: str) -> list[Published]:
    """All published numbers for our ``dataset`` and ``algorithm`` names; [] when none."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}'; known: {', '.join(METRICS)}")
    name, method = DATASETS.get(dataset), ALGORITHMS.get(algorithm)
    return [r for r in records() if r.dataset == name and r.method == method and r.metric == metric]


def reference(dataset: str, algorithm: str, metric: str) -> Published | None:
    """The one number to print beside ours (see the module docstring), or None."""
    found = lookup(dataset, algorithm, metric)
    if not found:
        return None
    own = [r for r in found if r.paper == OWN_PAPER.get(r.method)]
    original = [r for r in found if r.from_original_paper]
    if own or original:
        return (own or original)[0]
    ranked = sorted(found, key=lambda r: (r.value, r.paper))
    return ranked[(len(ranked) - 1) // 2]  # the median (the lower one of an even count)


def _paper(name: str) -> str:
    """The prefix "002" of a file in shared/papers ("002_7ef2d2f3977ca2dc.txt"), else a citation."""
    return name[:3] if re.fullmatch(r"\d{3}_\w+\.txt", name) else name
