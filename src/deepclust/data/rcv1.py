"""REUTERS-10K and RCV1-10K: 10,000 RCV1-v2 stories with one of four root topics, as tf-idf.

Raw files (Lewis, Yang, Rose, Li 2004, "RCV1: A new benchmark collection for text
categorization research", JMLR 5, online appendices 12 and 8): the five LYRL2004 token files
(``lyrl2004_tokens_{test_pt0..3,train}.dat.gz``; each document is a ``.I <docid>`` line, a
``.W`` line, then whitespace-separated tokens up to a blank line) and the topic assignments
``rcv1-v2.topics.qrels.gz`` (``<topic> <docid> 1`` per line). Together they hold all 804,414
RCV1-v2 stories. No checksum is published for them: ``download`` pins the first copy's sha256
in a lock file (trust on first use).

The DEKM paper (002, Sec. IV-A) describes the two sets as:

- "REUTERS-10K [41] contains a random subset of 10,000 samples from REUTERS dataset which has
  about 810,000 English news stories. REUTERS-10K contains four categories:
  corporate/industrial, government/social, markets, and economics." ([41] is DEC.)
- "Following [6], we sample from the full RCV1 collection a random subset of 10,000 documents
  from the largest four categories, denoted by RCV1-10K." ([6] is DKM, Fard et al. 2020.)

So both are random 10,000-document subsets of the same ~800,000-story RCV1 collection with four
classes; the paper cites a different source for each (DEC, DKM) but states no other difference
in construction. We read "the largest four categories" as the four top-level topics — CCAT
(corporate/industrial), GCAT (government/social), MCAT (markets), ECAT (economics) — which are
the only disjoint classes among the largest RCV1 topics (the bigger sub-topics, e.g. C15, are
nested in CCAT). Hence the two datasets are the *same construction with a different random
draw*: ``reuters10k`` uses seed 1234 (DEC's ``make_reuters_data`` seeds numpy with 1234),
``rcv1_10k`` seed 0 (our choice; the paper gives none). The two samples may share documents.

Construction (following DEC's ``make_reuters_data`` where DEKM is silent):

- eligible documents: those whose set of root topics among {CCAT, GCAT, MCAT, ECAT} in the
  qrels has exactly one element (as DEC's code does: a story tagged with one root and any
  number of sub-topics is kept; one with two roots, or none, is dropped);
- label: the index of that root in the order CCAT, GCAT, MCAT, ECAT (0..3, DEC's order);
- sample: the eligible docids sorted ascending, permuted by ``np.random.RandomState(seed)``;
  the first ``n_samples`` of that permutation, rows in that (random) order;
- tokens: the LYRL2004 tokens as they are. We believe they are already Porter stems: the
  LYRL2004 paper describes the token files as the stories lower-cased, tokenised, with stop
  words removed and stemmed, so they are DEKM's "word stems" and are not stemmed again here;
- vocabulary: the 2,000 tokens with the most occurrences over *all* eligible documents (as
  DEC's ``CountVectorizer(max_features=2000)`` fitted on every eligible story), ties
  alphabetical;
- tf-idf and scaling: ``text.tfidf_scaled`` on the sample's counts, exactly as for 20news (raw
  tf, smoothed idf fitted on the sampled documents, rows scaled so that ‖x‖²/d = 1). DEC used
  sublinear tf and idf over all eligible stories, then ‖x‖ = √d; we keep one tf-idf recipe for
  all text sets.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclust.data import download
from deepclust.data.download import RCV1_QRELS, RCV1_TOKEN_FILES
from deepclust.data.images import corrupt
from deepclust.data.text import N_FEATURES, count_matrix, most_frequent, tfidf_scaled

ROOTS = ("CCAT", "GCAT", "MCAT", "ECAT")  # label i is ROOTS[i]
N_SAMPLES = 10_000
REUTERS10K_SEED = 1234  # DEC's np.random.seed(1234)
RCV1_10K_SEED = 0  # our choice: DEKM gives none
RAW_FILES = (*RCV1_TOKEN_FILES, RCV1_QRELS)


@dataclass(frozen=True)
class Corpus:
    """A built subset: X (n, d) float32, y int64 0..3, the RCV1 docids and the vocabulary."""

    X: np.ndarray
    y: np.ndarray
    docids: np.ndarray
    vocabulary: list[str]


def reuters10k(mirror: Path | None, n_samples: int = N_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """REUTERS-10K (DEC/DEKM): 10,000 × 2,000 float32 and labels 0..3."""
    return load(mirror, REUTERS10K_SEED, n_samples)


def rcv1_10k(mirror: Path | None, n_samples: int = N_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """RCV1-10K (DKM/DEKM): the same construction as REUTERS-10K with another seed."""
    return load(mirror, RCV1_10K_SEED, n_samples)


def load(
    mirror: Path | None, seed: int, n_samples: int = N_SAMPLES, n_features: int = N_FEATURES
) -> tuple[np.ndarray, np.ndarray]:
    """Fetch the RCV1-v2 raw files and build the seeded subset."""
    paths = [download.fetch(rel, mirror) for rel in RAW_FILES]
    corpus = build(paths[:-1], paths[-1], seed, n_samples, n_features)
    return corpus.X, corpus.y


def build(
    token_files: Sequence[Path],
    qrels: Path,
    seed: int,
    n_samples: int = N_SAMPLES,
    n_features: int = N_FEATURES,
) -> Corpus:
    """Select, sample and vectorise (see the module docstring for every rule)."""
    labels = read_root_labels(qrels)
    pool = np.array(sorted(labels), dtype=np.int64)
    if n_samples > len(pool):
        raise ValueError(
            f"{qrels} labels only {len(pool)} documents with exactly one of {', '.join(ROOTS)}; "
            f"cannot draw {n_samples}"
        )
    drawn = pool[np.random.RandomState(seed).permutation(len(pool))[:n_samples]]
    row = {int(d): i for i, d in enumerate(drawn)}
    docs: list[list[str]] = [[] for _ in drawn]
    counts: Counter[str] = Counter()
    seen: set[int] = set()
    for path in token_files:
        for docid, tokens in read_tokens(path):
            if docid not in labels:
                continue
            if docid in seen:
                raise corrupt(path, ValueError(f"document {docid} appears twice"))
            seen.add(docid)
            counts.update(tokens)
            if (i := row.get(docid)) is not None:
                docs[i] = tokens
    if len(seen) < len(labels):
        example = min(set(labels) - seen)
        raise ValueError(
            f"the token files lack {len(labels) - len(seen)} of the {len(labels)} eligible "
            f"documents of {qrels} (e.g. docid {example}); all five LYRL2004 token files are "
            f"needed — delete any truncated one from the raw cache and run again"
        )
    vocabulary = most_frequent(counts, n_features)
    X = tfidf_scaled(count_matrix(docs, vocabulary))
    y = np.array([labels[int(d)] for d in drawn], dtype=np.int64)
    return Corpus(X, y, drawn, vocabulary)


def read_root_labels(qrels: Path) -> dict[int, int]:
    """{docid: index in ROOTS} for the documents with exactly one of the four root topics."""
    roots: dict[int, set[str]] = {}
    n_lines = 0
    try:
        with gzip.open(qrels, "rt", encoding="latin-1") as fh:
            for number, line in enumerate(fh, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) < 2:
                    raise ValueError(f"line {number} is not '<topic> <docid> 1': {line!r}")
                n_lines += 1
                docid = int(parts[1])
                if parts[0] in ROOTS:
                    roots.setdefault(docid, set()).add(parts[0])
                else:
                    roots.setdefault(docid, set())  # known, maybe without any root topic
    except (OSError, EOFError, ValueError) as err:
        raise corrupt(qrels, err) from err
    if not n_lines:
        raise corrupt(qrels, ValueError("no topic assignments"))
    return {d: ROOTS.index(next(iter(r))) for d, r in roots.items() if len(r) == 1}


def read_tokens(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(docid, tokens) for each document of a LYRL2004 token file, in file order."""
    docid: int | None = None
    tokens: list[str] = []
    in_text = False
    n_docs = 0
    try:
        with gzip.open(path, "rt", encoding="latin-1") as fh:
            for number, line in enumerate(fh, 1):
                if line.startswith(".I"):
                    if docid is not None:
                        yield docid, tokens
                    docid, tokens, in_text = int(line.split()[1]), [], False
                    n_docs += 1
                elif line.startswith(".W"):
                    if docid is None or in_text:
                        raise ValueError(f"line {number}: '.W' without a preceding '.I'")
                    in_text = True
                elif line.strip():
                    if not in_text:
                        raise ValueError(f"line {number}: text outside a '.I'/'.W' document")
                    tokens.extend(line.split())
    except (OSError, EOFError, ValueError, IndexError) as err:
        raise corrupt(path, err) from err
    if docid is None:
        raise corrupt(path, ValueError("no '.I <docid>' document"))
    yield docid, tokens
