"""Every mirrored dataset loads from the local mirror with the documented n, d, k and range.

The mirror is $DEEPCLUST_MIRROR or ../shared/datasets next to the repository; tests are
skipped, not failed, where it (or a file in it) is absent. No network: DEEPCLUST_OFFLINE=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from deepclust.data import download
from deepclust.data.registry import DATASETS

MIRROR = Path(
    os.environ.get("DEEPCLUST_MIRROR") or Path(__file__).parents[2] / "shared" / "datasets"
)
MIRRORED = [name for name, d in DATASETS.items() if d.raw_files]


@pytest.fixture(scope="module")
def raw_cache(tmp_path_factory):
    """One raw cache for the module, so each mirror file is copied and hashed once."""
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("name", MIRRORED)
def test_loads_from_mirror(name, raw_cache, monkeypatch):
    spec = DATASETS[name]
    missing = [f for f in spec.raw_files if not (MIRROR / f).is_file()]
    if missing:
        pytest.skip(f"dataset mirror lacks {', '.join(missing)} (looked in {MIRROR})")
    monkeypatch.setenv(download.OFFLINE_ENV, "1")
    monkeypatch.chdir(raw_cache)  # the raw cache is data/raw under the working directory
    X, y = spec.load(MIRROR)
    assert X.shape == (spec.n, spec.d) and X.dtype == np.float32
    assert y.shape == (spec.n,) and y.dtype == np.int64
    assert np.array_equal(np.unique(y), np.arange(spec.n_clusters))
    assert np.isfinite(X).all()
    if spec.kind == "image":
        low, high = spec.value_range
        assert X.min() >= low and X.max() <= high and X.max() > (low + high) / 2
    else:  # tf-idf scaled so that ||x||^2 / d = 1 (or an all-zero row)
        sq = (X.astype(np.float64) ** 2).sum(axis=1) / spec.d
        assert X.min() >= 0.0 and np.allclose(sq[sq > 0], 1.0, rtol=1e-4)


def test_usps_signed_is_usps_scaled_to_minus_1_plus_1(raw_cache, monkeypatch):
    """DKM's authors' input range (their usps_specs.py reads USPS in [-1, 1])."""
    if not (MIRROR / "usps/usps.h5").is_file():
        pytest.skip(f"dataset mirror lacks usps/usps.h5 (looked in {MIRROR})")
    monkeypatch.setenv(download.OFFLINE_ENV, "1")
    monkeypatch.chdir(raw_cache)
    X, y = DATASETS["usps"].load(MIRROR)
    X_signed, y_signed = DATASETS["usps_signed"].load(MIRROR)
    np.testing.assert_array_equal(y_signed, y)
    np.testing.assert_allclose(X_signed, 2 * X - 1, atol=1e-6)
    assert X_signed.min() == -1.0 and X_signed.max() == 1.0
