"""Run the mutation suite: apply each mutant of ``mutants.py`` to a copy of ``src/`` and run
the tests named for it against that copy; the mutant is killed when they fail.

    python -m tests.mutants.run                      # every mutant: a table and the kill rate
    python -m tests.mutants.run dec-target-frozen    # some of them, by id
    python -m tests.mutants.run --method dec --workers 2

A mutant whose ``old`` snippet does not occur exactly once in its file is *stale* (the code
changed under it): it is reported and fails the run like a surviving mutant, so the list
stays honest. Before the mutants, the union of their tests runs once on the unmutated code
(``--no-baseline`` skips it): a test that fails there would "kill" every mutant. The exit
status is 0 only when every selected mutant is killed (100 %).

Speed: importing torch, scikit-learn, sympy (which torch loads on first use) and pytest costs
~10 s of CPU per process, more than most mutants' tests. So this process imports what the
baseline run imported and forks one child per mutant; the child puts the mutated copy first on
``sys.path``, imports ``deepclust`` from it (checked) and runs ``pytest.main``. The baseline
runs twice, the second time forked like the mutants, so that a child broken by the forking
itself cannot pass for a kill. POSIX only (``os.fork``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if __package__ in (None, ""):  # run as a script: make ``tests`` importable
    sys.path.insert(0, str(ROOT))

from tests.mutants.mutants import MUTANTS, Mutant  # noqa: E402

TIMEOUT_S = 300  # per mutant; a mutant whose tests hang this long counts as killed
# what the tests import, loaded once before forking (never deepclust: each child imports its own)
PRELOAD = ("numpy", "scipy.optimize", "sklearn.cluster", "sklearn.metrics", "pandas", "torch",
           "matplotlib.pyplot", "yaml", "jsonschema", "tqdm.auto", "pytest")  # fmt: skip


@dataclass
class Outcome:
    mutant: Mutant | None  # None: the baseline
    status: str  # killed | survived | stale | error (for the baseline: passed | failed)
    seconds: float
    detail: str = ""


def occurrences(mutant: Mutant, src: Path = ROOT / "src") -> int:
    return (src / "deepclust" / mutant.file).read_text().count(mutant.old)


def mutated_copy(mutant: Mutant, workdir: Path) -> Path:
    """``src`` copied under ``workdir`` with ``mutant`` applied; returns the copy's ``src``."""
    src = workdir / mutant.id / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("*.egg-info"))
    path = src / "deepclust" / mutant.file
    path.write_text(path.read_text().replace(mutant.old, mutant.new))
    return src


def _child(src: Path, tests: tuple[str, ...], log: Path) -> None:
    """In the forked child: run ``tests`` against ``src``, then list the modules it imported
    in ``<log>.modules`` (for ``preload``); never returns."""
    code = 3
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.path = [str(src), *(p for p in sys.path if not p.endswith(os.sep + "src"))]
        os.chdir(ROOT)
        import deepclust

        if not deepclust.__file__.startswith(str(src)):
            print(f"deepclust was imported from {deepclust.__file__}, not from {src}")
            os._exit(3)
        import pytest

        # plug-ins are not autoloaded here; xdist is, for the ini's -n, which -n 0 turns off
        args = ["-x", "-q", "-p", "xdist", "-n", "0", "-p", "no:cacheprovider", *tests]
        code = int(pytest.main(args))
        sys.stdout.flush()
        sys.stderr.flush()
        log.with_suffix(".modules").write_text("\n".join(sys.modules))
    finally:
        os._exit(code)


def preload(modules: list[str]) -> None:
    """Import, in this process, the ``modules`` a child imported (what forked children then
    need not import again), except the code under test and the tests themselves."""
    for name in modules:
        if name.split(".")[0] in ("deepclust", "tests", "__main__", "conftest"):
            continue
        with contextlib.suppress(Exception):
            __import__(name)


def _last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    return lines[-1] if lines else ""


def _judge(mutant: Mutant | None, code: int | None, seconds: float, log: Path) -> Outcome:
    last = _last_line(log)
    if mutant is None:  # the baseline must pass
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        return Outcome(None, "passed" if code == 0 else "failed", seconds, tail)
    if code is None:
        return Outcome(mutant, "killed", seconds, f"timeout ({TIMEOUT_S} s)")
    # pytest: 1 = a test failed, 2 = a collection error (the mutant broke an import); 0 = all
    # passed; 3 = an internal error or our import check; 4/5 = bad arguments or nothing
    # collected (a wrong test list); negative: the child died of a signal
    if code in (1, 2):
        return Outcome(mutant, "killed", seconds, last)
    if code == 0:
        return Outcome(mutant, "survived", seconds, last)
    return Outcome(mutant, "error", seconds, f"exit {code}: {last}")


Job = tuple[Mutant | None, Path, tuple[str, ...]]  # mutant (None: baseline), src, tests


def run_all(jobs: list[Job], workdir: Path, workers: int, report) -> None:
    """Fork one child per job, at most ``workers`` at a time; ``report`` gets each job's
    ``Outcome`` in the order the jobs finish."""
    pending = list(jobs)
    running: dict[int, tuple[Mutant | None, float, Path, Path]] = {}  # pid → job
    timed_out: set[int] = set()
    while pending or running:
        while pending and len(running) < workers:
            mutant, src, tests = pending.pop(0)
            log = workdir / f"{mutant.id if mutant else 'baseline'}.log"
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _child(src, tests, log)
            running[pid] = (mutant, time.monotonic(), src, log)
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            for pid, (_, start, _, _) in list(running.items()):
                if time.monotonic() - start > TIMEOUT_S and pid not in timed_out:
                    timed_out.add(pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
            continue
        mutant, start, src, log = running.pop(pid)
        seconds = time.monotonic() - start
        code = os.waitstatus_to_exitcode(status)
        report(_judge(mutant, None if pid in timed_out else code, seconds, log))
        if mutant is not None:
            shutil.rmtree(src.parent, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="mutant ids (default: all)")
    parser.add_argument("--method", action="append", help="only this method's mutants")
    parser.add_argument("--workers", type=int, default=1, help="mutants run side by side")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)

    unknown = sorted(set(args.ids) - {m.id for m in MUTANTS})
    if unknown:
        parser.error(f"unknown mutant(s) {', '.join(unknown)}; --list shows them")
    selected = [
        m for m in MUTANTS
        if (not args.ids or m.id in args.ids) and (not args.method or m.method in args.method)
    ]  # fmt: skip
    if args.list:
        for m in selected:
            print(f"{m.id:34} {m.method:13} {m.file:22} {m.description}")
        return 0
    if not selected:
        parser.error("no mutant selected")

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # third-party plugins: not needed here
    start = time.monotonic()
    for module in PRELOAD:
        __import__(module)
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        if outcome.mutant is None:
            how = "after preloading" if outcomes else "in a fresh child"
            print(f"baseline ({how}): the mutants' tests on the unmutated code "
                  f"{outcome.status} ({outcome.seconds:.0f} s)", flush=True)  # fmt: skip
            outcomes.append(outcome)
            return
        m = outcome.mutant
        print(f"{outcome.status:8} {outcome.seconds:5.1f} s  {m.id:34} {m.method:13} "
              f"{m.description}", flush=True)  # fmt: skip
        if outcome.status != "killed":
            print(f"{'':18}{outcome.detail}", flush=True)
        outcomes.append(outcome)

    with tempfile.TemporaryDirectory(prefix="deepclust-mutants-") as tmp:
        workdir = Path(tmp)
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in selected for t in m.tests))
            run_all([(None, ROOT / "src", tests)], workdir, 1, report)
            if outcomes[-1].status == "passed":
                # again, forked from this process with what the first run imported preloaded,
                # as every mutant will be: a failure here would be the runner's, not a kill
                preload((workdir / "baseline.modules").read_text().split())
                run_all([(None, ROOT / "src", tests)], workdir, 1, report)
            if outcomes[-1].status != "passed":
                print(outcomes[-1].detail)
                print("baseline failed: fix the tests before judging mutants", file=sys.stderr)
                return 2
        jobs = []
        for m in selected:
            count = occurrences(m)
            if count == 1:
                jobs.append((m, mutated_copy(m, workdir), m.tests))
            else:
                report(Outcome(m, "stale", 0.0, f"old snippet found {count} times in {m.file}"))
        run_all(jobs, workdir, max(1, args.workers), report)

    judged = [o for o in outcomes if o.mutant is not None]
    killed = sum(o.status == "killed" for o in judged)
    by_method: dict[str, list[int]] = {}
    for o in judged:
        counts = by_method.setdefault(o.mutant.method, [0, 0])
        counts[0] += o.status == "killed"
        counts[1] += 1
    print("\nmethod         killed")
    for method, (k, n) in by_method.items():
        print(f"{method:14} {k:3} / {n}")
    status = {s: sum(o.status == s for o in judged) for s in ("survived", "stale", "error")}
    print(
        f"\nkill rate {killed} / {len(judged)} = {100 * killed / len(judged):.1f} % "
        f"({status['survived']} survived, {status['stale']} stale, {status['error']} errors) "
        f"in {time.monotonic() - start:.0f} s with {max(1, args.workers)} worker(s)"
    )
    return 0 if killed == len(judged) else 1


if __name__ == "__main__":
    sys.exit(main())
