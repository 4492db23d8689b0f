"""Fetch raw dataset files into the raw cache, checking each one's sha256 before any use.

A file is named by its path inside the mirror (``mnist/train-images-idx3-ubyte.gz``) and is
cached under the same path in ``data/raw`` (relative to the working directory). ``fetch``
takes, in order: the cached copy; a download from the canonical URL (skipped when
``DEEPCLUST_OFFLINE`` is set); the copy in the mirror folder (``--mirror`` or
``DEEPCLUST_MIRROR``). Every copy is written to a temporary file, hashed, and only renamed
into the cache when its sha256 is one this table accepts, so no unchecked or half-written file
is ever left there. The digests come from the mirror's MANIFEST (../shared/datasets).

Where no digest is published (``RawFile.sha256`` is None: the RCV1-v2 files), the check is
trust-on-first-use: the first copy that arrives (download, mirror, or a file already in the
cache) has its sha256 recorded in the lock file ``<raw dir>/sha256.lock.json``, and every later
copy must match it. The lock sits next to the raw cache, so each user's first download pins the
files; a team that wants everyone on the same bytes copies (or ``git add -f``s) that one file.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import math
import os
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from deepclust import io

log = logging.getLogger("deepclust")

RAW_DIR = Path("data/raw")
LOCK_NAME = "sha256.lock.json"
OFFLINE_ENV = "DEEPCLUST_OFFLINE"
TIMEOUT_ENV = "DEEPCLUST_DOWNLOAD_TIMEOUT"
TIMEOUT_S = 10  # seconds a download may wait for the server; $DEEPCLUST_DOWNLOAD_TIMEOUT overrides
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RawFile:
    """One raw file: its canonical URL (None: no direct link) and the sha256 digests accepted.

    ``sha256=None``: none is published; the first copy's digest is pinned in the lock file.
    """

    url: str | None
    sha256: tuple[str, ...] | None


_LECUN = "http://yann.lecun.com/exdb/mnist/"
_ZALANDO = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

# Keyed by the path inside the mirror. 20news and the COIL-20 zip are repackaged in the mirror,
# so their mirror digest differs from upstream; 20news also accepts the upstream digest (as
# pinned by scikit-learn). No upstream digest is published for the COIL-20 zip, so a download
# of it fails the check and the mirror copy is used.
RAW_FILES: dict[str, RawFile] = {
    "mnist/train-images-idx3-ubyte.gz": RawFile(
        _LECUN + "train-images-idx3-ubyte.gz",
        ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
    ),
    "mnist/train-labels-idx1-ubyte.gz": RawFile(
        _LECUN + "train-labels-idx1-ubyte.gz",
        ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
    ),
    "mnist/t10k-images-idx3-ubyte.gz": RawFile(
        _LECUN + "t10k-images-idx3-ubyte.gz",
        ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
    ),
    "mnist/t10k-labels-idx1-ubyte.gz": RawFile(
        _LECUN + "t10k-labels-idx1-ubyte.gz",
        ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
    ),
    "fashion_mnist/train-images-idx3-ubyte.gz": RawFile(
        _ZALANDO + "train-images-idx3-ubyte.gz",
        ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",),
    ),
    "fashion_mnist/train-labels-idx1-ubyte.gz": RawFile(
        _ZALANDO + "train-labels-idx1-ubyte.gz",
        ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",),
    ),
    "fashion_mnist/t10k-images-idx3-ubyte.gz": RawFile(
        _ZALANDO + "t10k-images-idx3-ubyte.gz",
        ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",),
    ),
    "fashion_mnist/t10k-labels-idx1-ubyte.gz": RawFile(
        _ZALANDO + "t10k-labels-idx1-ubyte.gz",
        ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",),
    ),
    # Kaggle (bistaumanga/usps-dataset) needs a login: mirror only.
    "usps/usps.h5": RawFile(
        None, ("734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36",)
    ),
    "20newsgroups/20news-bydate.tar.gz": RawFile(
        "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz",
        (
            "f934583ecd65eae06e4d23af0fcb72ade56b76bad2279c0aed7d520aa6527b02",  # mirror
            "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",  # upstream
        ),
    ),
    "coil20/coil-20-proc.zip": RawFile(
        "https://www.cs.columbia.edu/CAVE/databases/SLAM_coil-20_coil-100/coil-20/coil-20-proc.zip",
        ("df8ca12f7130e77d44b3708f34b4c9f6333d367888c1e65344b3e0481f288421",),
    ),
    "coil20/COIL20.mat": RawFile(
        "http://www.cad.zju.edu.cn/home/dengcai/Data/COIL20/COIL20.mat",
        ("2a35c105dbb327492b90389e55612bcbf39187bc7c408252239903e4ce7d6958",),
    ),
}

# RCV1-v2 (Lewis et al. 2004, JMLR 5, online appendices 8 and 12): no checksum is published,
# so these are trust-on-first-use (sha256=None). See data/rcv1.py.
_LYRL = "http://www.ai.mit.edu/projects/jmlr/papers/volume5/lewis04a/"
RCV1_TOKEN_FILES = tuple(
    f"rcv1/lyrl2004_tokens_{part}.dat.gz"
    for part in ("test_pt0", "test_pt1", "test_pt2", "test_pt3", "train")
)
RCV1_QRELS = "rcv1/rcv1-v2.topics.qrels.gz"
RAW_FILES.update(
    {rel: RawFile(_LYRL + "a12-token-files/" + rel.split("/")[1], None) for rel in RCV1_TOKEN_FILES}
)
RAW_FILES[RCV1_QRELS] = RawFile(_LYRL + "a08-topic-qrels/rcv1-v2.topics.qrels.gz", None)


def offline() -> bool:
    """True when ``DEEPCLUST_OFFLINE`` is set (to anything but '', '0'): mirror only."""
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


def fetch(
    rel: str, mirror: Path | None, raw_dir: Path = RAW_DIR, *, spec: RawFile | None = None
) -> Path:
    """Return the cached, checksum-verified copy of raw file ``rel``, fetching it if needed.

    ``rel`` is a key of ``RAW_FILES``, or any path under the mirror when ``spec`` gives its
    URL and digests: a plug-in's own files live under ``<mirror>/<its dataset>/`` (or are put
    straight into the cache, ``data/raw/<its dataset>/``) and are checked like the built-ins'.
    """
    spec = _spec(rel) if spec is None else spec
    target = Path(raw_dir) / rel
    if target.exists():
        got = io.sha256_file(target)
        if _accepted(rel, spec, raw_dir) is None:
            log.warning("%s has no published or pinned sha256; pinning the cached copy", target)
        _check(target, got, rel, spec, raw_dir)
        return target
    reasons = []
    if spec.url is None:
        reasons.append("it has no direct download URL")
    elif offline():
        reasons.append(f"{OFFLINE_ENV} is set, so {spec.url} was not tried")
    else:
        timeout = download_timeout()  # a bad value is an error, not a reason to use the mirror
        try:
            with _open_url(spec.url, timeout) as response:
                _store(target, _chunks(response), rel, spec, raw_dir, origin=spec.url)
            log.info("downloaded %s → %s", spec.url, target)
            return target
        except (OSError, http.client.HTTPException, ValueError) as err:
            log.warning("could not download %s (%s)", spec.url, err)
            reasons.append(f"downloading {spec.url} failed ({err})")
    if mirror is None:
        raise FileNotFoundError(
            f"raw file {rel} is not available: {'; '.join(reasons)}, and no mirror is set. "
            f"Pass --mirror DIR or set DEEPCLUST_MIRROR to a folder holding {rel}, "
            f"or put the file at {target}"
        )
    source = Path(mirror) / rel
    if not source.is_file():
        raise FileNotFoundError(
            f"raw file {rel} is not available: {'; '.join(reasons)}, and the mirror has no "
            f"{source}. Check --mirror / DEEPCLUST_MIRROR, or put the file at {target}"
        )
    with open(source, "rb") as fh:
        _store(target, _chunks(fh), rel, spec, raw_dir, origin=str(source))
    log.info("copied %s → %s", source, target)
    return target


def availability(rel: str, mirror: Path | None, raw_dir: Path = RAW_DIR) -> str | None:
    """Where ``rel`` can be had without the network: 'cache', 'mirror' or None (not checked)."""
    if (Path(raw_dir) / rel).is_file():
        return "cache"
    if mirror is not None and (Path(mirror) / rel).is_file():
        return "mirror"
    return None


def _spec(rel: str) -> RawFile:
    try:
        return RAW_FILES[rel]
    except KeyError:
        raise ValueError(f"unknown raw file '{rel}'; known: {', '.join(RAW_FILES)}") from None


def download_timeout() -> float:
    """Seconds to wait for a server: ``$DEEPCLUST_DOWNLOAD_TIMEOUT`` if set, else ``TIMEOUT_S``."""
    value = os.environ.get(TIMEOUT_ENV, "")
    if not value:
        return TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_ENV} must be a positive number of seconds, got '{value}'")
    return seconds


def _open_url(url: str, timeout: float) -> BinaryIO:
    """Open ``url``, waiting at most ``timeout`` seconds for each reply of the server."""
    return urllib.request.urlopen(url, timeout=timeout)


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(_CHUNK):
        yield chunk


def _store(
    target: Path, chunks: Iterable[bytes], rel: str, spec: RawFile, raw_dir: Path, origin: str
) -> None:
    """Write ``chunks`` to ``target`` via a temporary file, renamed only if its sha256 passes."""
    digest = hashlib.sha256()
    head = b""
    with io.atomic_path(target) as tmp:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                if len(head) < 2:
                    head += chunk[:2]
                digest.update(chunk)
                out.write(chunk)
        if spec.sha256 is None and rel.endswith(".gz") and not head.startswith(b"\x1f\x8b"):
            # Nothing to check against yet: refuse to pin an error page instead of a gzip file.
            raise ValueError(f"{origin} is not a gzip file (it starts with {head!r})")
        _check(origin, digest.hexdigest(), rel, spec, raw_dir)


def _check(path: str | Path, got: str, rel: str, spec: RawFile, raw_dir: Path) -> None:
    """Accept ``got`` if it is a published digest, or the pinned one; with neither, pin it."""
    accepted = _accepted(rel, spec, raw_dir)
    if accepted is None:
        _pin(rel, got, raw_dir)
        log.info("pinned sha256 %s for %s in %s (first use)", got, rel, _lock_path(raw_dir))
        return
    if got not in accepted:
        hint = "delete it and run again, or check the mirror"
        if spec.sha256 is None:
            hint = (
                f"no checksum is published, so the expected one was pinned in "
                f"{_lock_path(raw_dir)} by the first download. A cached copy that fails is "
                f"damaged: delete it and run again. Only if the upstream file really changed, "
                f"remove the '{rel}' entry from the lock file"
            )
        raise ValueError(
            f"checksum mismatch for {path}: expected sha256 {' or '.join(accepted)}, got "
            f"{got}; {hint}"
        )


def _accepted(rel: str, spec: RawFile, raw_dir: Path) -> tuple[str, ...] | None:
    """The digests ``rel`` may have: published ones, else the pinned one, else None."""
    if spec.sha256 is not None:
        return spec.sha256
    pinned = read_lock(raw_dir).get(rel)
    return (pinned,) if pinned else None


def _lock_path(raw_dir: Path) -> Path:
    return Path(raw_dir) / LOCK_NAME


def read_lock(raw_dir: Path = RAW_DIR) -> dict[str, str]:
    """The pinned digests, {path inside the mirror: sha256}; empty if there is no lock file."""
    path = _lock_path(raw_dir)
    if not path.is_file():
        return {}
    try:
        lock = json.loads(path.read_text())
    except ValueError as err:
        raise ValueError(f"lock file {path} is not valid JSON ({err}); fix or delete it") from err
    if not isinstance(lock, dict) or not all(isinstance(v, str) for v in lock.values()):
        raise ValueError(f"lock file {path} must map raw file paths to sha256 strings")
    return lock


def _pin(rel: str, digest: str, raw_dir: Path) -> None:
    """Record ``digest`` for ``rel`` in the lock file (read-modify-write under an flock)."""
    path = _lock_path(raw_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".flock"), "a") as guard:
        with contextlib.suppress(ImportError):
            import fcntl  # POSIX only; elsewhere concurrent first downloads are not guarded

            fcntl.flock(guard, fcntl.LOCK_EX)
        lock = read_lock(raw_dir)
        if lock.get(rel, digest) != digest:  # another process pinned it first
            raise ValueError(
                f"checksum mismatch for {rel}: got {digest}, but {path} pins {lock[rel]}"
            )
        lock[rel] = digest
        io.write_json(path, lock)
