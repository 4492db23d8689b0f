"""The mutation suite's list stays honest (the full run is ``python -m tests.mutants.run``, a
step of ``.ci/run``): every method has its mutants, every mutant applies to today's code, and
every test a mutant names exists."""

from __future__ import annotations

import collections
import subprocess
import sys

from deepclust.algorithms import ALGORITHMS
from tests.conftest import ROOT
from tests.mutants import run
from tests.mutants.mutants import METHODS, MIN_PER_METHOD, MUTANTS, PRETRAINING


def test_every_method_has_at_least_three_mutants():
    assert set(METHODS) == {*ALGORITHMS, *PRETRAINING}, "a new method needs its mutants"
    counts = collections.Counter(m.method for m in MUTANTS)
    assert set(counts) == set(METHODS)
    assert {m: n for m, n in counts.items() if n < MIN_PER_METHOD} == {}


def test_ids_are_unique_and_every_mutant_changes_something():
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)
    assert all(m.old != m.new and m.tests and m.description for m in MUTANTS)


def test_no_mutant_is_stale():
    """Each ``old`` snippet occurs exactly once in its file: a change to the code that moves
    it makes this fail, and the mutant must follow the code."""
    stale = {m.id: run.occurrences(m) for m in MUTANTS if run.occurrences(m) != 1}
    assert stale == {}, "update these mutants' snippets (occurrences found)"


def test_every_named_test_exists():
    node_ids = sorted({t for m in MUTANTS for t in m.tests if "::" in t})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0",
         "-p", "no:cacheprovider", *node_ids],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    collected = set(proc.stdout.split())
    assert [t for t in node_ids if t not in collected] == []
