"""Image datasets from raw files: MNIST / Fashion-MNIST (gzip IDX), USPS (HDF5), COIL-20.

Every loader returns X float32 (n, c·h·w) in [0, 1] (the DEKM paper, 002 Sec. IV-A: "For all
the image datasets, each image is normalized by scaling between 0 and 1") and y int64 0..k-1,
in the order of the raw files (train before test); shuffling is left to training. One
exception, registered with its range: ``usps_signed`` in [-1, 1], for DKM's authors' input.
"""

from __future__ import annotations

import gzip
import io
import math
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

from deepclust.data import download
from deepclust.extras import require

_COIL_PNG = re.compile(r"(?:.*/)?obj(\d+)__(\d+)\.png$")


def corrupt(path: Path, err: Exception) -> ValueError:
    """The error for a raw file that cannot be parsed (truncated download, wrong format)."""
    return ValueError(f"{path} is truncated or corrupt ({err}); delete it and run again")


def read_idx(path: Path) -> np.ndarray:
    """Parse a gzip-compressed IDX file of unsigned bytes (MNIST format) into a uint8 array."""
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as err:
        raise corrupt(path, err) from err
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise corrupt(path, ValueError("no IDX header for unsigned bytes"))
    ndim = data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise corrupt(path, ValueError("IDX header cut short"))
    shape = struct.unpack(f">{ndim}I", data[4:start])
    if len(data) - start != math.prod(shape):
        raise corrupt(path, ValueError(f"header says {shape} but {len(data) - start} bytes follow"))
    return np.frombuffer(data, np.uint8, offset=start).reshape(shape)


def mnist_like(
    folder: str, mirror: Path | None, splits: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-format images and labels of ``splits`` ('train', 't10k'), concatenated."""
    Xs, ys = [], []
    for split in splits:
        X = read_idx(download.fetch(f"{folder}/{split}-images-idx3-ubyte.gz", mirror))
        y = read_idx(download.fetch(f"{folder}/{split}-labels-idx1-ubyte.gz", mirror))
        if X.ndim != 3 or y.shape != (len(X),):
            raise ValueError(f"{folder} {split}: images {X.shape} do not match labels {y.shape}")
        Xs.append(X.reshape(len(X), -1))
        ys.append(y)
    return _scaled(np.concatenate(Xs)), np.concatenate(ys).astype(np.int64)


def usps(mirror: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """USPS, train + test (7,291 + 2,007) from usps.h5: 16×16 floats already in [0, 1]."""
    h5py = require("h5py", "The USPS loader")

    path = download.fetch("usps/usps.h5", mirror)
    try:
        with h5py.File(path, "r") as h5:
            X = np.concatenate([h5["train/data"][()], h5["test/data"][()]])
            y = np.concatenate([h5["train/target"][()], h5["test/target"][()]])
    except (OSError, KeyError) as err:
        raise corrupt(path, err) from err
    return np.clip(X, 0.0, 1.0).astype(np.float32), y.astype(np.int64)


def usps_signed(mirror: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """USPS in [-1, 1] (2x − 1 of ``usps``): the range of the LIBSVM/mldata copy that DKM's
    authors read without rescaling (their ``usps_specs.py``); the one exception to [0, 1]."""
    X, y = usps(mirror)
    return (2.0 * X - 1.0).astype(np.float32), y


def coil20(mirror: Path | None, size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """COIL-20 from the processed 128×128 PNGs, bilinearly resized to ``size`` (None: keep).

    Rows are ordered by object, then pose; labels are object ids 1..20 minus one.
    """
    Image = require("PIL.Image", "The COIL-20 loader")

    path = download.fetch("coil20/coil-20-proc.zip", mirror)
    try:
        with zipfile.ZipFile(path) as archive:
            entries = sorted(
                (int(m[1]), int(m[2]), name)
                for name in archive.namelist()
                if (m := _COIL_PNG.match(name))
            )
            images = np.stack(
                [
                    np.asarray(Image.open(io.BytesIO(archive.read(e[2]))).convert("L"))
                    for e in entries
                ]
            )
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise corrupt(path, err) from err
    if images.shape != (1440, 128, 128):
        raise corrupt(path, ValueError(f"expected 1,440 images of 128×128, got {images.shape}"))
    X = images.astype(np.float32)
    if size is not None:
        X = resize_bilinear(X, size)
    y = np.array([e[0] - 1 for e in entries], dtype=np.int64)
    return _scaled(X.reshape(len(X), -1)), y


def coil20_mat(mirror: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """COIL-20 at 32×32 from Deng Cai's COIL20.mat (rows stored column-major, so transposed)."""
    from scipy.io import loadmat

    path = download.fetch("coil20/COIL20.mat", mirror)
    try:
        mat = loadmat(path)
        X = mat["fea"].reshape(-1, 32, 32).transpose(0, 2, 1).reshape(-1, 32 * 32)
        y = mat["gnd"].ravel().astype(np.int64) - 1
    except (OSError, ValueError, KeyError) as err:
        raise corrupt(path, err) from err
    return np.clip(X, 0.0, 1.0).astype(np.float32), y


def resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Resize (n, h, w) images to (n, size, size) as ``tf.image.resize`` does by default.

    Bilinear with half-pixel centres and no antialiasing, which is how the DEKM code
    (github.com/spdj2271/DEKM, utils.py) brings COIL-20 to 28×28.
    """
    rows = _interpolation_matrix(images.shape[1], size)
    cols = _interpolation_matrix(images.shape[2], size)
    return (rows @ images @ cols.T).astype(images.dtype)


def _interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of 1-D linear interpolation at half-pixel centres."""
    src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lower = np.floor(src).astype(int)
    upper = np.minimum(lower + 1, n_in - 1)
    frac = src - lower
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), lower), 1 - frac)
    np.add.at(weights, (np.arange(n_out), upper), frac)
    return weights


def _scaled(pixels: np.ndarray) -> np.ndarray:
    """Pixel values 0..255 → float32 in [0, 1]."""
    return (pixels.astype(np.float32) / np.float32(255)).clip(0.0, 1.0)
