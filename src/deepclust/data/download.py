"""Fetch raw dataset files into the raw cache, checking each one's sha256 before any use.

A file is named by its path inside the mirror (``mnist/train-images-idx3-ubyte.gz``) and is
cached under the same path in ``data/raw`` (relative to the working directory). ``fetch``
takes, in order: the cached copy; a download from the canonical URL (skipped when
``DEEPCLUST_OFFLINE`` is set); the copy in the mirror folder (``--mirror`` or
``DEEPCLUST_MIRROR``). Every copy is written to a temporary file, hashed, and only renamed
into the cache when its sha256 is one this table accepts, so no unchecked or half-written file
is ever left there. The digests come from the mirror's MANIFEST (../shared/datasets).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from deepclust import io

log = logging.getLogger("deepclust")

RAW_DIR = Path("data/raw")
OFFLINE_ENV = "DEEPCLUST_OFFLINE"
TIMEOUT_S = 10
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RawFile:
    """One raw file: its canonical URL (None: no direct link) and the sha256 digests accepted."""

    url: str | None
    sha256: tuple[str, ...]


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


def offline() -> bool:
    """True when ``DEEPCLUST_OFFLINE`` is set (to anything but '', '0'): mirror only."""
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


def fetch(rel: str, mirror: Path | None, raw_dir: Path = RAW_DIR) -> Path:
    """Return the cached, checksum-verified copy of raw file ``rel``, fetching it if needed."""
    spec = _spec(rel)
    target = Path(raw_dir) / rel
    if target.exists():
        _check(target, _sha256_file(target), spec)
        return target
    reasons = []
    if spec.url is None:
        reasons.append("it has no direct download URL")
    elif offline():
        reasons.append(f"{OFFLINE_ENV} is set, so {spec.url} was not tried")
    else:
        try:
            with _open_url(spec.url) as response:
                _store(target, _chunks(response), spec, origin=spec.url)
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
        _store(target, _chunks(fh), spec, origin=str(source))
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


def _open_url(url: str) -> BinaryIO:
    """Open ``url`` with a short timeout (tests replace this to keep off the network)."""
    return urllib.request.urlopen(url, timeout=TIMEOUT_S)


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    while chunk := fh.read(_CHUNK):
        yield chunk


def _store(target: Path, chunks: Iterable[bytes], spec: RawFile, origin: str) -> None:
    """Write ``chunks`` to ``target`` via a temporary file, renamed only if its sha256 passes."""
    digest = hashlib.sha256()
    with io.atomic_path(target) as tmp:
        with open(tmp, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
        _check(Path(origin), digest.hexdigest(), spec)


def _check(path: Path, got: str, spec: RawFile) -> None:
    if got not in spec.sha256:
        raise ValueError(
            f"checksum mismatch for {path}: expected sha256 {' or '.join(spec.sha256)}, got "
            f"{got}; delete it and run again, or check the mirror"
        )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in _chunks(fh):
            digest.update(chunk)
    return digest.hexdigest()
