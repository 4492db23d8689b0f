"""The scikit-learn estimators: the pipeline's code behind fit/predict, its errors, its cache."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import check_estimator

import deepclust
from deepclust import io, paths
from deepclust.algorithms import ALGORITHMS
from deepclust.config import ConfigError
from deepclust.estimators import ESTIMATORS

# 100 epochs (300 steps): after 20 the autoencoder still learns fast, and IDEC, DKM and DCEC
# lose a perfect k-means start to one cluster as the embedding drifts from the centres.
TINY_AE = {"hidden": [16], "embedding_dim": 3, "epochs": 100, "batch_size": 32}


def _blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three clusters of 30 noisy copies of three random 8×8 images (values in [0, 1])."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    X = rng.uniform(0.1, 0.9, size=(3, 64))[y] + 0.03 * rng.standard_normal((90, 64))
    return X.astype(np.float32), y


IMAGES = {"image_shape": (1, 8, 8)}
TINY_CONV = {"kind": "conv", "channels": [4, 8, 8], "embedding_dim": 3, "epochs": 100}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_every_estimator_fits_predicts_and_clones(name, tmp_path):
    X, y = _blobs()
    cls = ESTIMATORS[name]
    preset = "fast" if "fast" in ALGORITHMS[name].presets else "paper"
    ae = TINY_CONV if name == "dcec" else TINY_AE
    est = cls(3, autoencoder=ae, preset=preset, random_state=0, cache=tmp_path, **IMAGES)
    assert est.get_params()["n_clusters"] == 3 and not hasattr(est, "labels_")
    labels = est.fit_predict(torch.from_numpy(X))  # a torch tensor works like an array
    assert labels.shape == (90,) and set(np.unique(labels)) <= {0, 1, 2}
    # Far from a degenerate labelling (ARI 0); how well each method does is for the behaviour
    # tests in tests/algorithms.
    assert adjusted_rand_score(y, labels) > 0.5
    assert est.transform(X).shape == (90, 3)
    if est.cluster_centers_ is not None:
        assert (est.predict(X) == labels).mean() > 0.95
    else:
        with pytest.raises(ValueError, match="no cluster centres"):
            est.predict(X)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "labels_")


def test_the_estimator_gives_the_pipelines_result(tiny_run):
    # tests/config.tiny.yaml: digits, seed 0, d-32-5 pretrained 2 epochs, DEC fast with
    # max_iter 20 and T 5, k-means with 2 restarts. Same data, settings and seed: same labels.
    torch.set_num_threads(1)  # as Snakemake ran the stages
    X = io.read_npz(tiny_run / paths.DATA.format(dataset="digits"))["X"]
    expected = io.read_npz(tiny_run / paths.RunKey("digits", "dense", "dec", 0).fmt(
        paths.RUN_RESULT))  # fmt: skip
    est = deepclust.DEC(10, autoencoder={"hidden": [32], "embedding_dim": 5, "epochs": 2},
                        n_init=2, preset="fast", max_iter=20, update_interval=5,
                        random_state=0, device="cpu", cache=False)  # fmt: skip
    est.fit(X)
    assert np.array_equal(est.labels_, expected["labels"])
    np.testing.assert_allclose(est.embedding_, expected["embedding"], atol=1e-5)
    # and the pipeline's pretrained autoencoder loads into an estimator
    ae = tiny_run / paths.AE_MODEL.format(dataset="digits", ae="dense", seed=0)
    again = clone(est).set_params(autoencoder=str(ae)).fit(X)
    assert np.array_equal(again.labels_, expected["labels"])


def test_two_estimators_share_one_pretraining_through_the_cache(tmp_path):
    X, _ = _blobs()
    settings = {"autoencoder": TINY_AE, "random_state": 1, "cache": tmp_path}
    first = deepclust.DEC(3, preset="fast", **settings).fit(X)
    cached = list((tmp_path / "autoencoders").glob("*.pt"))
    assert len(cached) == 1
    deepclust.IDEC(3, preset="fast", **settings).fit(X)
    assert list((tmp_path / "autoencoders").glob("*.pt")) == cached  # reused, not retrained
    again = deepclust.DEC(3, preset="fast", **settings).fit(X)  # from the cache: same result
    assert np.array_equal(again.labels_, first.labels_)
    deepclust.DEC(3, preset="fast", **{**settings, "cache": tmp_path / "off"}).fit(X)
    off = tmp_path / "not-used"
    deepclust.DEC(3, preset="fast", **{**settings, "cache": False}).fit(X)
    assert not off.exists() and len(list(tmp_path.rglob("*.pt"))) == 2


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: deepclust.DEC(3, update_interval=0), ConfigError,
         r"DEC: update_interval: 0 is less than the minimum of 1"),
        (lambda: deepclust.DEC(3, optimizer="adamw"), ConfigError,
         r"DEC: optimizer: 'adamw' is not one of"),
        (lambda: deepclust.DEC(3, preset="slow"), ConfigError, r"DEC: preset: 'slow'"),
        (lambda: deepclust.DEC(3, autoencoder={"epoch": 1}), ConfigError,
         r"DEC.autoencoder: \(top level\): unknown key 'epoch'"),
        (lambda: deepclust.DEC(500), ValueError, r"n_clusters=500 is larger than n_samples=90"),
        (lambda: deepclust.DEC(3, autoencoder="missing/ae.pt"), FileNotFoundError,
         r"missing/ae.pt: no such autoencoder file"),
    ],
)  # fmt: skip
def test_bad_parameters_get_the_configs_named_errors(make, error, message, tmp_path):
    X, _ = _blobs()
    with pytest.raises(error, match=message):
        make().set_params(cache=tmp_path).fit(X)


def test_unknown_parameters_and_a_grid_search():
    with pytest.raises(TypeError, match=r"unknown parameter.*'updat_interval'.*known: n_clusters"):
        deepclust.DEC(3, updat_interval=5)
    X, y = _blobs()
    search = GridSearchCV(
        deepclust.DEC(3, autoencoder=TINY_AE, preset="fast", random_state=0, cache=False),
        {"update_interval": [5, 10]},
        scoring=lambda est, X, y: adjusted_rand_score(y, est.predict(X)),
        cv=2,
    )
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 2 and np.isfinite(scores).all()
    assert search.best_params_["update_interval"] == [5, 10][int(np.argmax(scores))]
    assert search.best_estimator_.labels_.shape == (90,)  # refitted on all the data


@pytest.mark.parametrize("name", ["dec", "aekm"])
def test_scikit_learns_estimator_checks_pass(name):
    """Every check of ``check_estimator`` passes except ``check_array_api_input``, which
    scikit-learn skips unless SCIPY_ARRAY_API is set (torch already takes tensors)."""
    est = ESTIMATORS[name](3, autoencoder={"hidden": [8], "embedding_dim": 2, "epochs": 2},
                           n_init=2, random_state=0, cache=False)  # fmt: skip
    if name == "dec":
        est.set_params(preset="fast", max_iter=10, update_interval=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, on_fail=None)
    failed = {r["check_name"]: str(r["exception"]) for r in results if r["status"] == "failed"}
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert failed == {}
    assert skipped <= {"check_array_api_input"}


def test_the_python_docs_example_runs(tmp_path, monkeypatch):
    """docs/python.md's code blocks, executed in order (with fewer epochs)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEEPCLUST_CACHE", str(tmp_path / "cache"))
    code = "\n".join(blocks).replace('"epochs": 50', '"epochs": 2')
    namespace: dict = {}
    exec(compile(code, "docs/python.md", "exec"), namespace)
    assert namespace["labels"].shape == (1797,)
    assert namespace["idec"].labels_.shape == (1797,)
    assert (tmp_path / "dec-embedding.png").stat().st_size > 5000


def test_fitting_needs_no_extra_and_a_missing_extra_is_named():
    """Without the extras' packages (blocked here), the estimators import and fit, and a
    feature that needs an extra says which one to install."""
    import subprocess
    import sys

    probe = """
import sys
for name in ("matplotlib", "umap", "snakemake", "dvc", "h5py", "PIL", "nltk"):
    sys.modules[name] = None  # import of a blocked module raises ImportError
import numpy as np, deepclust
X = np.random.default_rng(0).uniform(size=(60, 5)).astype("float32")
est = deepclust.AEKMeans(3, autoencoder={"hidden": [8], "epochs": 1}, cache=False).fit(X)
print("fitted", est.labels_.shape)
from deepclust.cli import main
sys.exit(main(["report", "--summary", "missing.csv", "--out", "out"]))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert "fitted (60,)" in out.stdout, out.stderr
    assert out.returncode == 1
    assert "Figures needs matplotlib, which is in deepclust's 'report' extra" in out.stderr
    assert "pip install 'deepclust[report]'" in out.stderr
