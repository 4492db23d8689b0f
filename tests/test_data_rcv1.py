"""REUTERS-10K / RCV1-10K builder on a tiny RCV1-v2 corpus written here, and the
trust-on-first-use lock for raw files without a published checksum. No network."""

from __future__ import annotations

import gzip
import hashlib
import io
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from deepclust.data import download, rcv1
from deepclust.data.registry import DATASETS

# docid → (topics, tokens). 10..15 and 17 have exactly one root topic (sub-topics do not count).
DOCS = {
    10: (["CCAT", "C15", "C151"], "profit share profit market"),
    11: (["GCAT", "GPOL"], "elect vote govern vote"),
    12: (["MCAT", "M14"], "market price price share"),
    13: (["ECAT", "E21"], "inflat rate rate govern"),
    14: (["CCAT"], "share profit compani"),
    15: (["GCAT"], "vote elect"),
    16: (["CCAT", "GCAT", "C15"], "profit vote two root"),  # two roots: dropped
    17: (["MCAT"], "price"),
    18: (["C15", "GPOL"], "no root topic"),  # sub-topics only: dropped
    19: (["ECAT", "MCAT"], "rate price"),  # two roots: dropped
}
ELIGIBLE = {10: 0, 11: 1, 12: 2, 13: 3, 14: 0, 15: 1, 17: 2}


def _token_file(path: Path, docids) -> Path:
    text = ""
    for d in docids:
        words = DOCS[d][1].split()
        # tokens may wrap over several lines; a blank line ends the document
        text += f".I {d}\n.W\n{' '.join(words[:2])}\n{' '.join(words[2:])}\n\n"
    path.write_bytes(gzip.compress(text.encode()))
    return path


def _qrels(path: Path) -> Path:
    lines = [f"{t} {d} 1\n" for d, (topics, _) in DOCS.items() for t in sorted(topics)]
    path.write_bytes(gzip.compress("".join(lines).encode()))
    return path


@pytest.fixture
def corpus(tmp_path):
    """Two token files (like test_ptN and train) and the qrels."""
    tokens = [
        _token_file(tmp_path / "pt0.dat.gz", [14, 15, 16, 17, 18, 19]),
        _token_file(tmp_path / "train.dat.gz", [10, 11, 12, 13]),
    ]
    return tokens, _qrels(tmp_path / "qrels.gz")


def test_read_tokens_parses_documents(corpus):
    tokens, _ = corpus
    assert next(rcv1.read_tokens(tokens[1])) == (10, ["profit", "share", "profit", "market"])
    assert [d for d, _ in rcv1.read_tokens(tokens[0])] == [14, 15, 16, 17, 18, 19]


def test_root_labels_keep_exactly_one_root(corpus):
    _, qrels = corpus
    assert rcv1.read_root_labels(qrels) == ELIGIBLE


def test_build_selects_labels_and_scales(corpus):
    tokens, qrels = corpus
    c = rcv1.build(tokens, qrels, seed=1234, n_samples=5, n_features=5)
    assert c.X.shape == (5, 5) and c.X.dtype == np.float32
    assert c.y.dtype == np.int64 and len(set(c.docids.tolist())) == 5
    assert set(c.docids.tolist()) <= set(ELIGIBLE)
    assert c.y.tolist() == [ELIGIBLE[d] for d in c.docids.tolist()]
    sq = (c.X.astype(np.float64) ** 2).sum(axis=1) / 5
    assert np.allclose(sq[sq > 0], 1.0, rtol=1e-6) and (c.X >= 0).all()
    # vocabulary: most occurrences over the 7 eligible documents (not the sample, not the
    # dropped 16/18/19, which would lift profit, vote and rate), ties alphabetical
    assert c.vocabulary == ["price", "profit", "share", "vote", "elect"]


def test_sampling_is_seeded(corpus):
    tokens, qrels = corpus
    a = rcv1.build(tokens, qrels, seed=1234, n_samples=5)
    b = rcv1.build(tokens, qrels, seed=1234, n_samples=5)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.docids, b.docids)
    pool = np.array(sorted(ELIGIBLE))
    expected = pool[np.random.RandomState(1234).permutation(len(pool))[:5]]
    np.testing.assert_array_equal(a.docids, expected)
    everything = rcv1.build(tokens, qrels, seed=0, n_samples=7).docids
    assert sorted(everything.tolist()) == sorted(ELIGIBLE)


def test_too_large_sample_and_missing_documents_are_errors(corpus):
    tokens, qrels = corpus
    with pytest.raises(ValueError, match=r"only 7 documents.*cannot draw 8"):
        rcv1.build(tokens, qrels, seed=0, n_samples=8)
    with pytest.raises(ValueError, match=r"lack 4 of the 7 eligible.*docid 10"):
        rcv1.build(tokens[:1], qrels, seed=0, n_samples=2)


def test_malformed_token_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.dat.gz"
    bad.write_bytes(gzip.compress(b"tokens before any header\n"))
    with pytest.raises(ValueError, match=r"bad\.dat\.gz is truncated or corrupt.*outside"):
        list(rcv1.read_tokens(bad))


def test_registry_entries():
    for name in ("reuters10k", "rcv1_10k"):
        d = DATASETS[name]
        assert (d.n, d.d, d.n_clusters, d.kind) == (10_000, 2_000, 4, "text")
        assert set(d.raw_files) == set(rcv1.RAW_FILES) and len(d.raw_files) == 6
        assert all(download.RAW_FILES[f].sha256 is None for f in d.raw_files)


def test_load_fetches_through_the_lock(tmp_path, monkeypatch):
    """End to end: reuters10k() fetches the six files (from a fake URL), pins them, builds."""
    parts = ([14, 15], [16, 17], [18, 19], [10, 11], [12, 13])
    payload = {
        rel: _token_file(tmp_path / f"{i}.gz", docids).read_bytes()
        for i, (rel, docids) in enumerate(zip(download.RCV1_TOKEN_FILES, parts, strict=True))
    }
    payload[download.RCV1_QRELS] = _qrels(tmp_path / "qrels.gz").read_bytes()
    by_url = {download.RAW_FILES[rel].url: data for rel, data in payload.items()}
    monkeypatch.delenv(download.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(download, "_open_url", lambda url, timeout: io.BytesIO(by_url[url]))
    monkeypatch.chdir(tmp_path)  # the raw cache is data/raw under the working directory
    X, y = rcv1.reuters10k(None, n_samples=3)
    assert X.shape == (3, 10) and y.dtype == np.int64  # 10 distinct eligible tokens < 2,000
    lock = download.read_lock(Path("data/raw"))
    assert set(lock) == set(rcv1.RAW_FILES)
    monkeypatch.setattr(download, "_open_url", pytest.fail)  # now all from the cache
    X2, y2 = rcv1.reuters10k(None, n_samples=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = rcv1.rcv1_10k(None, n_samples=3)
    assert X3.shape == (3, 10)


# --- trust on first use ---------------------------------------------------------------------

TOFU = "rcv1/toy.dat.gz"
GOOD = gzip.compress(b".I 1\n.W\nword\n\n")


@pytest.fixture
def tofu(monkeypatch, tmp_path):
    monkeypatch.setitem(
        download.RAW_FILES, TOFU, download.RawFile("http://example.invalid/t", None)
    )
    monkeypatch.delenv(download.OFFLINE_ENV, raising=False)
    return tmp_path / "raw"


def _serve(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(download, "_open_url", lambda url, timeout: io.BytesIO(data))


def test_first_fetch_records_the_digest_and_later_ones_verify(tofu, monkeypatch):
    _serve(monkeypatch, GOOD)
    path = download.fetch(TOFU, None, tofu)
    assert path.read_bytes() == GOOD
    lock = download.read_lock(tofu)
    assert lock == {TOFU: hashlib.sha256(GOOD).hexdigest()}
    assert (tofu / download.LOCK_NAME).is_file()
    # cached copy verified against the lock
    assert download.fetch(TOFU, None, tofu) == path
    # a fresh download (cache deleted) of the same bytes passes
    path.unlink()
    assert download.fetch(TOFU, None, tofu).read_bytes() == GOOD
    assert download.read_lock(tofu) == lock


def test_changed_download_is_an_error_and_leaves_no_file(tofu, monkeypatch):
    _serve(monkeypatch, GOOD)
    path = download.fetch(TOFU, None, tofu)
    path.unlink()
    _serve(monkeypatch, gzip.compress(b".I 1\n.W\nother\n\n"))
    with pytest.raises(FileNotFoundError, match=r"checksum mismatch.*pinned in .*sha256\.lock"):
        download.fetch(TOFU, None, tofu)
    assert not path.exists()


def test_tampered_cache_is_an_error(tofu, monkeypatch):
    _serve(monkeypatch, GOOD)
    path = download.fetch(TOFU, None, tofu)
    path.write_bytes(gzip.compress(b"tampered"))
    with pytest.raises(
        ValueError,
        match=r"checksum mismatch for .*raw/rcv1/toy\.dat\.gz.*first download.*delete it",
    ):
        download.fetch(TOFU, None, tofu)


def test_error_page_is_not_pinned(tofu, monkeypatch):
    _serve(monkeypatch, b"<html>moved</html>")
    with pytest.raises(FileNotFoundError, match="not a gzip file"):
        download.fetch(TOFU, None, tofu)  # the download fails, no mirror to fall back on
    assert download.read_lock(tofu) == {}


def test_mirror_copy_is_pinned_too(tofu, monkeypatch, tmp_path):
    def offline(url, timeout):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(download, "_open_url", offline)
    mirror = tmp_path / "mirror"
    (mirror / "rcv1").mkdir(parents=True)
    (mirror / TOFU).write_bytes(GOOD)
    download.fetch(TOFU, mirror, tofu)
    assert TOFU in download.read_lock(tofu)


def test_published_digests_ignore_the_lock(tmp_path, monkeypatch):
    rel = "toy/published.bin"
    monkeypatch.setitem(
        download.RAW_FILES,
        rel,
        download.RawFile("http://x.invalid/p", (hashlib.sha256(b"p").hexdigest(),)),
    )
    monkeypatch.delenv(download.OFFLINE_ENV, raising=False)
    _serve(monkeypatch, b"p")
    download.fetch(rel, None, tmp_path)
    assert download.read_lock(tmp_path) == {}
