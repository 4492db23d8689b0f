"""Atomic artifact writing and checked reading: no half-written file, no cryptic error.

Every writer here writes to a temporary file in the target's folder, ``fsync``s it, renames it
over the target with ``os.replace`` (atomic on POSIX) and ``fsync``s the folder, so a reader
sees the old file or the new one, even after a power loss. A write that fails (a full disk)
raises ``WriteError`` naming the target, which is left as it was. Every reader raises
``CorruptFileError`` naming the file and what to do when it is empty, truncated or not ours,
and ``load_torch`` refuses pickled Python objects (``UnsafeFileError``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import pickle
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from deepclust import paths

_UMASK = os.umask(0)
os.umask(_UMASK)


REDO = "delete it and rerun the stage that writes it (snakemake or dvc repro reruns it)"


class CorruptFileError(ValueError):
    """A file is empty, truncated, damaged or not what deepclust wrote; the message names it
    and says what to do."""


class UnsafeFileError(ValueError):
    """A model file holds pickled Python objects besides tensors and plain values."""


class WriteError(OSError):
    """Writing an artifact failed (full disk, quota); the previous file is unchanged."""


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success, fsync it, rename it onto
    ``target`` and fsync the folder. On failure ``target`` is untouched and the temporary
    file removed; a full disk raises ``WriteError`` naming ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~_UMASK)  # mkstemp makes 0600; artifacts are shared like any file
    try:
        yield tmp_path
        fsync(tmp_path)
        os.replace(tmp_path, target)
        fsync(target.parent)
    except (OSError, RuntimeError) as err:
        if isinstance(err, WriteError) or not _out_of_space(err):
            raise
        raise WriteError(
            errno.ENOSPC,
            f"could not write {target}: the disk or quota is full ({_first_line(err)}); "
            f"free some space and rerun. {target.name} was left as it was",
        ) from err
    finally:
        tmp_path.unlink(missing_ok=True)


def fsync(path: str | Path) -> None:
    """Flush a file's or a folder's contents to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _out_of_space(err: BaseException) -> bool:
    if isinstance(err, OSError):
        return err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    # torch.save's C++ writer reports a short write as "[enforce fail at
    # inline_container.cc:...] . unexpected pos 63744 vs 63632" (or "PytorchStreamWriter failed")
    text = str(err)
    return "inline_container" in text or "PytorchStreamWriter" in text


def _first_line(err: BaseException) -> str:
    line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return line if len(line) <= 160 else line[:157] + "..."


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def read_npz(path: str | Path, fix: str = REDO) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz``; a damaged file raises ``CorruptFileError`` naming it, with
    ``fix`` (what to do) in the message."""
    if not Path(path).is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, KeyError) as err:
        raise CorruptFileError(
            f"{path} is damaged or not an .npz written by deepclust "
            f"({type(err).__name__}: {_first_line(err)}); {fix}"
        ) from err


def read_prepared(path: str | Path) -> dict[str, np.ndarray]:
    """A prepared dataset's arrays (X, y, ...), checked against the sha256 of X and y in its
    card (the ``.json`` next to it): a damaged or changed file raises ``CorruptFileError``
    naming it and saying how to rebuild it."""
    path = Path(path)
    card = paths.card(path)
    fix = (
        f"delete {path} and {card} and rerun prepare (snakemake and dvc repro rerun it; "
        f"by hand: deepclust prepare --dataset {path.stem} --out {path})"
    )
    arrays = read_npz(path, fix)
    try:
        expected = read_json(card)
    except FileNotFoundError:
        raise CorruptFileError(f"{path}: its card {card} is missing; {fix}") from None
    except ValueError as err:
        raise CorruptFileError(f"{path}: its card {card} is damaged ({err}); {fix}") from err
    for key in ("X", "y"):
        if key not in arrays:
            raise CorruptFileError(f"{path} has no array '{key}'; {fix}")
        got = hashlib.sha256(np.ascontiguousarray(arrays[key]).tobytes()).hexdigest()
        if got != expected.get(f"sha256_{key}"):
            raise CorruptFileError(
                f"{path}: array {key} does not match the sha256 in its card {card} "
                f"({got[:12]}... instead of {str(expected.get(f'sha256_{key}'))[:12]}...): "
                f"the file was changed after prepare wrote it; {fix}"
            )
    return arrays


def array_digest(**arrays: np.ndarray) -> str:
    """A sha256 of arrays' names, dtypes, shapes and values: unlike a file's sha256 it does
    not change when the same arrays are written again (an .npz stores write times)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def write_csv(path: str | Path, frame) -> None:
    """Write a pandas DataFrame without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_torch(path: str | Path, obj: dict) -> None:
    import torch  # here, so that commands that never touch a model start without torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: str | Path, fix: str = REDO) -> dict:
    """A file written by ``save_torch``. Our files hold only tensors, numbers, strings, lists
    and dicts, so torch's ``weights_only`` loader reads them and any other pickled object is
    refused (``UnsafeFileError``); an empty, truncated or foreign file raises
    ``CorruptFileError``. Both messages name the file and end with ``fix``."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _blocked_global(str(err))
        if reason is None:
            raise CorruptFileError(f"{path} is damaged or not a deepclust file; {fix}") from err
        raise UnsafeFileError(
            f"{path} was not loaded: it holds a pickled Python object, {reason}, besides "
            f"tensors and plain values. deepclust never writes one; the file may not come from "
            f"deepclust or may run code when loaded. Do not load it; {fix}"
        ) from None
    except (EOFError, RuntimeError, OSError, ValueError, zipfile.BadZipFile) as err:
        what = "empty" if path.stat().st_size == 0 else "damaged or truncated"
        raise CorruptFileError(
            f"{path} is {what} ({type(err).__name__}: {_first_line(err)}); {fix}"
        ) from err
    if not isinstance(obj, dict):
        raise CorruptFileError(f"{path} holds a {type(obj).__name__}, not a deepclust dict; {fix}")
    return obj


def _blocked_global(message: str) -> str | None:
    """The Python object torch's weights-only unpickler refused ("posix.system"), if any;
    None when the pickle is merely damaged."""
    found = re.search(r"GLOBAL ([\w.]+)", message)
    return found[1] if found else None


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def remove_temporaries(target: str | Path) -> None:
    """Delete the temporary files that ``atomic_path`` left next to ``target`` when a writer
    was killed (SIGKILL) before it could clean up. Only for a target that one process writes."""
    target = Path(target)
    for tmp in target.parent.glob(f".{target.name}.*.tmp"):
        tmp.unlink(missing_ok=True)
