"""A stage's hold on its outputs: one writer at a time, and no expensive artifact lost.

``hold(lock)``: a stage takes a lock file (its PID, host and start time) before it writes an
output folder and refuses to start while another live process holds it. A lock left by a
dead process (SIGKILL, power loss) is taken over with a warning: on this host when its PID no
longer runs, from another host (a Slurm node) when its heartbeat, the file's modification
time that the holder refreshes every ``HEARTBEAT_S`` seconds, is older than ``STALE_S``.

``keep`` / ``restore``: Snakemake deletes a job's declared outputs before it reruns the job
and after the job fails, so a rerun that fails on a bad input would lose a good ``ae.pt``.
A stage therefore hard-links its finished outputs into ``.kept/`` in its folder (no extra
space) with the fingerprint of what made them (config, seed, input contents, code). A later
run with the same fingerprint restores them instead of training again; a run with another
fingerprint replaces ``.kept/`` only once it has succeeded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from deepclust import io

log = logging.getLogger("deepclust")

HEARTBEAT_S = 30.0  # the holder refreshes its lock's modification time this often
STALE_S = 300.0  # a lock from another host untouched this long belongs to a dead process
KEPT = ".kept"


class Busy(RuntimeError):
    """Another live process holds the lock of the outputs a stage was asked to write."""


def lock_path(output: str | Path, folder: bool) -> Path:
    """The lock of an output folder (``folder/.lock``) or of an output file (``.name.lock``)."""
    output = Path(output)
    return output / ".lock" if folder else output.with_name(f".{output.name}.lock")


@contextlib.contextmanager
def hold(output: str | Path, *, folder: bool) -> Iterator[Path]:
    """Hold the lock of ``output`` (a folder, or a file) while the block runs."""
    output = Path(output)
    path = lock_path(output, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
          "command": " ".join(sys.argv)}  # fmt: skip
    for _ in range(3):  # a stale lock is set aside, then the lock is taken (one winner)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            _set_aside_if_stale(path, output)
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        break
    else:
        raise Busy(f"could not take the lock {path}; another stage keeps taking it")
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(path, stop), daemon=True)
    beat.start()
    try:
        yield path
    finally:
        stop.set()
        beat.join()
        if _holder(path) == me:
            path.unlink(missing_ok=True)


def _heartbeat(path: Path, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        with contextlib.suppress(OSError):
            os.utime(path)


def _holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _set_aside_if_stale(path: Path, output: Path) -> None:
    holder = _holder(path)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return  # released meanwhile: try again
    here = socket.gethostname()
    if holder is None:
        if age < HEARTBEAT_S:  # being written this instant
            time.sleep(0.1)
            return
        why = "it is unreadable"
    elif holder.get("host") == here:
        if _alive(int(holder.get("pid", -1))):
            raise Busy(_busy_message(output, path, holder))
        why = f"process {holder.get('pid')} no longer runs on {here}"
    elif age > STALE_S:
        why = f"its holder on {holder.get('host')} stopped refreshing it {age:.0f} s ago"
    else:
        raise Busy(_busy_message(output, path, holder))
    warnings.warn(f"taking over the stale lock {path}: {why}", stacklevel=3)
    with contextlib.suppress(FileNotFoundError):  # another process may have won the race
        os.replace(path, path.with_name(f"{path.name}.stale-{os.getpid()}"))
        path.with_name(f"{path.name}.stale-{os.getpid()}").unlink()


def _busy_message(output: Path, path: Path, holder: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
    return (
        f"{output} is being written by another deepclust stage (PID {holder.get('pid')} on "
        f"{holder.get('host')}, started {started}: {holder.get('command', '?')}); wait for it "
        f"or stop it. If that process no longer exists, delete {path}"
    )


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    try:  # a zombie (dead, not yet reaped) still answers kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def keep(folder: str | Path, names: list[str], fingerprint: str) -> None:
    """Hard-link (or copy) ``folder/names`` into ``folder/.kept`` with ``fingerprint``,
    replacing the previous kept set only once the new one is complete. A failure (a full
    disk on a file system without hard links) is a warning: the outputs themselves are done."""
    folder = Path(folder)
    staging = folder / f"{KEPT}.{os.getpid()}.tmp"
    old = folder / f"{KEPT}.{os.getpid()}.old"
    kept = folder / KEPT
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for name in names:
            _link_or_copy(folder / name, staging / name)
        io.write_text(staging / "fingerprint.json", fingerprint)
        if kept.exists():
            os.replace(kept, old)
        os.replace(staging, kept)
        io.fsync(folder)
    except OSError as err:
        warnings.warn(f"could not keep a copy of {', '.join(names)} in {kept}: {err}", stacklevel=2)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def restore(folder: str | Path, names: list[str], fingerprint: str) -> bool:
    """Put back ``folder/names`` from ``folder/.kept`` if it was kept with ``fingerprint``
    (each file atomically); return whether it did."""
    folder = Path(folder)
    kept = folder / KEPT
    try:
        if (kept / "fingerprint.json").read_text() != fingerprint:
            return False
    except OSError:
        return False
    if not all((kept / name).is_file() for name in names):
        return False
    for name in names:
        with io.atomic_path(folder / name) as tmp:
            tmp.unlink()
            _link_or_copy(kept / name, tmp)
    log.info(
        "restored %s in %s from %s: an earlier run with the same config, seed, inputs and "
        "code made them (delete %s to train again)", ", ".join(names), folder, kept, kept,
    )  # fmt: skip
    return True


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)
