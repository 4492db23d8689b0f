"""Raw-data loaders on tiny files written here: IDX, 20news tar.gz, tf-idf math, fetch/checksums."""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from deepclust.data import download, images, text
from deepclust.data.registry import DATASETS

TOY = "toy/a.bin"
CONTENT = b"raw bytes of a toy dataset\n" * 100


def _idx_gz(path: Path, array: np.ndarray) -> Path:
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return path


def _tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_read_idx(tmp_path):
    imgs = np.arange(3 * 2 * 4).reshape(3, 2, 4)
    np.testing.assert_array_equal(images.read_idx(_idx_gz(tmp_path / "i.gz", imgs)), imgs)
    labels = np.array([7, 0, 9])
    np.testing.assert_array_equal(images.read_idx(_idx_gz(tmp_path / "l.gz", labels)), labels)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    whole = _idx_gz(tmp_path / "i.gz", np.zeros((50, 28, 28))).read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz is truncated or corrupt.*delete it"):
        images.read_idx(cut)


def test_idx_size_must_match_header(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"abc"))
    with pytest.raises(ValueError, match="header says"):
        images.read_idx(bad)


def test_resize_bilinear_uses_half_pixel_centres():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    # 4 → 2: samples at 0.5 and 2.5, i.e. the mean of each pair of pixels.
    np.testing.assert_allclose(images.resize_bilinear(a, 2), [[[2.5, 4.5], [10.5, 12.5]]])
    np.testing.assert_allclose(images.resize_bilinear(np.ones((2, 5, 5)), 3), np.ones((2, 3, 3)))


def test_read_bydate_orders_and_labels(tmp_path):
    archive = _tar_gz(
        tmp_path / "news.tar.gz",
        {
            "20news-bydate-test/alt.atheism/9": b"test doc",
            "20news-bydate-train/comp.graphics/2": b"graphics \xe9",
            "20news-bydate-train/alt.atheism/10": b"second",
            "20news-bydate-train/alt.atheism/1": b"first",
            "README": b"not a document",
        },
    )
    docs, y, groups = text.read_bydate(archive)
    assert groups == ["alt.atheism", "comp.graphics"]
    assert docs == ["first", "second", "graphics é", "test doc"]  # train first, names as text
    assert y.dtype == np.int64 and y.tolist() == [0, 0, 1, 0]


def test_truncated_tar_gz_is_a_clear_error(tmp_path):
    whole = _tar_gz(
        tmp_path / "news.tar.gz",
        {f"20news-bydate-train/g/{i}": np.random.default_rng(i).bytes(4000) for i in range(5)},
    ).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut\.tar\.gz is truncated or corrupt"):
        text.read_bydate(cut)


def test_stem_documents_drops_stop_words_and_digits():
    stemmed = text.stem_documents(["The runners were Running 42 races in 1993!", ""])
    assert stemmed == [["runner", "run", "race"], []]


def test_top_stems_by_count_then_alphabet():
    assert text.top_stems([["b", "a", "c"], ["c", "b"]], 2) == ["b", "c"]


def test_tfidf_scaled_matches_hand_computation():
    counts = np.array([[2, 0, 1], [0, 1, 1], [0, 0, 0]])
    # smoothed idf with n = 3 documents: ln((1 + n) / (1 + df)) + 1, df = (1, 1, 2)
    idf_rare, idf_common = math.log(4 / 2) + 1, math.log(4 / 3) + 1
    row0 = np.array([2 * idf_rare, 0.0, idf_common])
    row1 = np.array([0.0, idf_rare, idf_common])
    scaled = [row * math.sqrt(3) / np.linalg.norm(row) for row in (row0, row1)]
    expected = np.stack([*scaled, np.zeros(3)])
    got = text.tfidf_scaled(counts)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose((got[:2] ** 2).sum(axis=1) / 3, 1.0, rtol=1e-6)


def test_features_on_a_tiny_corpus():
    X = text.features(["apple apple banana", "banana cherry", "the and of"], n_features=2)
    assert X.shape == (3, 2) and X.dtype == np.float32
    np.testing.assert_allclose((X[:2] ** 2).sum(axis=1) / 2, 1.0, rtol=1e-6)
    assert not X[2].any()  # only stop words: stays zero


@pytest.fixture
def toy(monkeypatch, tmp_path):
    """A registered toy raw file and a mirror holding it, offline: the download itself is
    tested against a local HTTP server in test_download.py."""
    spec = download.RawFile("http://example.invalid/a.bin", (hashlib.sha256(CONTENT).hexdigest(),))
    monkeypatch.setitem(download.RAW_FILES, TOY, spec)
    monkeypatch.setenv(download.OFFLINE_ENV, "1")
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / TOY).write_bytes(CONTENT)
    return mirror, tmp_path / "raw"


def test_fetch_copies_from_the_mirror_then_serves_the_cache(toy):
    mirror, raw = toy
    path = download.fetch(TOY, mirror, raw)
    assert path == raw / TOY and path.read_bytes() == CONTENT
    (mirror / TOY).unlink()
    assert download.fetch(TOY, mirror, raw) == path  # now served from the cache


def test_checksum_mismatch_is_an_error_and_leaves_no_file(toy):
    mirror, raw = toy
    (mirror / TOY).write_bytes(CONTENT[:-1])
    with pytest.raises(ValueError, match=r"checksum mismatch for .*mirror/toy/a\.bin.*expected"):
        download.fetch(TOY, mirror, raw)
    assert not [p for p in raw.rglob("*") if p.is_file()]  # no target, no temporary file


def test_tampered_cache_is_an_error(toy):
    mirror, raw = toy
    (raw / "toy").mkdir(parents=True)
    (raw / TOY).write_bytes(b"tampered")
    with pytest.raises(ValueError, match=r"checksum mismatch for .*raw/toy/a\.bin.*delete it"):
        download.fetch(TOY, mirror, raw)


def test_missing_file_without_mirror_says_what_to_do(toy):
    _, raw = toy
    with pytest.raises(FileNotFoundError, match=r"toy/a\.bin.*no mirror is set.*--mirror"):
        download.fetch(TOY, None, raw)


def test_a_plugins_own_raw_file_is_fetched_and_checked_by_its_spec(tmp_path, monkeypatch):
    """A file outside RAW_FILES (a plug-in's) is served from <mirror>/<its path> when the
    caller passes its spec, and a copy that does not match the spec's digest is refused."""
    monkeypatch.setenv(download.OFFLINE_ENV, "1")
    rel, mirror, raw = "mydata/x.bin", tmp_path / "mirror", tmp_path / "raw"
    (mirror / "mydata").mkdir(parents=True)
    (mirror / rel).write_bytes(CONTENT)
    spec = download.RawFile(None, (hashlib.sha256(CONTENT).hexdigest(),))
    assert download.fetch(rel, mirror, raw, spec=spec).read_bytes() == CONTENT
    with pytest.raises(ValueError, match=r"unknown raw file 'mydata/x\.bin'"):
        download.fetch(rel, mirror, raw)  # without its spec it is not a known file
    wrong = download.RawFile(None, (hashlib.sha256(b"other").hexdigest(),))
    with pytest.raises(ValueError, match="checksum mismatch"):
        download.fetch(rel, mirror, raw, spec=wrong)


def test_a_loader_is_tested_without_its_real_file_by_patching_fetch(tmp_path, monkeypatch):
    """docs/datasets.md: loaders call ``download.fetch`` through the module, so patching it
    hands them tiny files; here the MNIST loader reads a 3-image IDX pair."""
    imgs = np.stack([np.full((28, 28), v) for v in (0, 51, 255)])
    files = {
        "mnist/train-images-idx3-ubyte.gz": _idx_gz(tmp_path / "i.gz", imgs),
        "mnist/train-labels-idx1-ubyte.gz": _idx_gz(tmp_path / "l.gz", np.array([4, 0, 9])),
    }
    monkeypatch.setattr(download, "fetch", lambda rel, mirror, *a, **k: files[rel])
    X, y = images.mnist_like("mnist", None, ("train",))
    assert X.shape == (3, 784) and X.dtype == np.float32
    np.testing.assert_allclose(X[:, 0], [0.0, 0.2, 1.0])
    np.testing.assert_array_equal(y, [4, 0, 9])


def test_registry_is_consistent():
    for d in DATASETS.values():
        assert set(d.raw_files) <= set(download.RAW_FILES), d.name
        if d.image_shape is not None:
            assert math.prod(d.image_shape) == d.d, d.name
