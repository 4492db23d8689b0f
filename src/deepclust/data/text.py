"""20 Newsgroups as tf-idf vectors on the 2,000 most frequent word stems (DEKM's 20NEWS).

The DEKM paper (002, Sec. IV-A) says only: "For the three text datasets, we represent each
document as a tf-idf feature vector on the 2,000 most frequently occurring word stems. And
each sample x_i is normalized so that (1/d)||x_i||_2^2 is approximately 1, where d is the
dimension of the input space." Where it is vague we chose:

- documents: all 18,846 messages of the "bydate" version (train, then test; each sorted by
  newsgroup, then file name), whole raw text decoded as latin-1, headers included — as the
  DEKM code's ``fetch_20newsgroups(subset="all")`` without ``remove``;
- labels: the index of the newsgroup in sorted order (scikit-learn's target ids);
- tokens: lower-cased runs of two or more letters (no digits: the paper says *word* stems);
  scikit-learn's English stop words are dropped, then NLTK's Porter stemmer is applied;
- "most frequently occurring": the 2,000 stems with the most occurrences over the whole
  corpus (ties broken alphabetically);
- tf-idf: raw counts times scikit-learn's smoothed idf, ln((1 + n) / (1 + df)) + 1;
- normalisation: each row scaled to x·√d/‖x‖, so ‖x‖²/d = 1 exactly (rows with no kept stem
  stay zero). The DEKM code itself scales to ‖x‖ = 1; we follow the paper's text.
"""

from __future__ import annotations

import re
import tarfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfTransformer

from deepclust.data import download
from deepclust.data.images import corrupt
from deepclust.extras import require

N_FEATURES = 2000
_TOKEN = re.compile(r"\b[^\W\d_]{2,}\b")
_SPLITS = ("20news-bydate-train", "20news-bydate-test")


def newsgroups(mirror: Path | None, n_features: int = N_FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """The 20news tf-idf matrix (18,846 × 2,000 float32) and its labels 0..19."""
    docs, y, _ = read_bydate(download.fetch("20newsgroups/20news-bydate.tar.gz", mirror))
    return features(docs, n_features), y


def read_bydate(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """Read a 20news-bydate tar.gz: texts, labels (sorted-newsgroup index) and group names."""
    found = []
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 3 and parts[0] in _SPLITS:
                    raw = tar.extractfile(member).read()
                    found.append((_SPLITS.index(parts[0]), parts[1], parts[2], raw))
    except (tarfile.TarError, EOFError, OSError) as err:
        raise corrupt(path, err) from err
    if not found:
        raise corrupt(path, ValueError("no 20news-bydate-train/<group>/<id> documents"))
    found.sort(key=lambda f: f[:3])
    groups = sorted({f[1] for f in found})
    index = {g: i for i, g in enumerate(groups)}
    docs = [f[3].decode("latin-1") for f in found]
    return docs, np.array([index[f[1]] for f in found], dtype=np.int64), groups


def features(docs: Iterable[str], n_features: int = N_FEATURES) -> np.ndarray:
    """Stem the documents, keep the most frequent stems and return scaled tf-idf (float32)."""
    stemmed = stem_documents(docs)
    vocabulary = top_stems(stemmed, n_features)
    return tfidf_scaled(count_matrix(stemmed, vocabulary))


def stem_documents(docs: Iterable[str]) -> list[list[str]]:
    """Each document as its list of Porter stems, stop words removed (stems cached per token)."""
    PorterStemmer = require("nltk.stem.porter", "Text preprocessing (Porter stems)").PorterStemmer

    stem = PorterStemmer().stem
    cache: dict[str, str | None] = {}
    out = []
    for doc in docs:
        stems = []
        for token in _TOKEN.findall(doc.lower()):
            if token not in cache:
                cache[token] = None if token in ENGLISH_STOP_WORDS else stem(token)
            if (s := cache[token]) is not None:
                stems.append(s)
        out.append(stems)
    return out


def top_stems(stemmed: list[list[str]], size: int) -> list[str]:
    """The ``size`` stems with the most occurrences (ties alphabetical), in that order."""
    return most_frequent(Counter(s for doc in stemmed for s in doc), size)


def most_frequent(counts: Counter[str], size: int) -> list[str]:
    """The ``size`` terms with the highest counts (ties alphabetical), in that order."""
    return sorted(counts, key=lambda s: (-counts[s], s))[:size]


def count_matrix(stemmed: list[list[str]], vocabulary: list[str]) -> sp.csr_matrix:
    """(n_docs, len(vocabulary)) term counts; stems outside the vocabulary are dropped."""
    column = {s: j for j, s in enumerate(vocabulary)}
    rows, cols = [], []
    for i, doc in enumerate(stemmed):
        hits = [column[s] for s in doc if s in column]
        rows.extend([i] * len(hits))
        cols.extend(hits)
    data = np.ones(len(rows), dtype=np.float64)
    counts = sp.csr_matrix((data, (rows, cols)), shape=(len(stemmed), len(vocabulary)))
    counts.sum_duplicates()
    return counts


def tfidf_scaled(counts: sp.spmatrix | np.ndarray) -> np.ndarray:
    """tf-idf (raw tf, smoothed idf) with every nonzero row scaled so that ‖x‖²/d = 1."""
    tfidf = TfidfTransformer(norm=None, smooth_idf=True).fit_transform(counts).toarray()
    norms = np.linalg.norm(tfidf, axis=1, keepdims=True)
    scale = np.divide(np.sqrt(tfidf.shape[1]), norms, out=np.zeros_like(norms), where=norms > 0)
    return (tfidf * scale).astype(np.float32)
