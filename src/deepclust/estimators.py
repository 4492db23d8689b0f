"""scikit-learn estimators over the pipeline's own code: ``deepclust.DEC(n_clusters=10).fit(X)``.

One class per registered algorithm (``DEC``, ``IDEC``, ``DCN``, … and ``AEKMeans`` for the
AE+k-means baseline), generated from the algorithm's parameter dataclass, so that a parameter
is declared once: its default (``None`` here) means "the preset's value", and ``get_params`` /
``set_params``, ``sklearn.base.clone`` and ``GridSearchCV`` see exactly the dataclass's fields
plus the common ones below. A bad value gets the same named error as a bad config (the
schema's ``$defs`` block validates both).

``fit(X)`` runs what the pipeline runs for one (dataset, seed): pretrain the autoencoder
(``models.pretrain``; skipped when ``autoencoder`` is a trained ``nn.Module`` or the path of
a pipeline artifact ``ae.pt``), k-means on its embedding (``initial.kmeans_init``, 20
restarts), then the algorithm's ``fit``. A pretrained autoencoder is cached on disk under a
key of the data, its configuration, the seed and the versions (like the pipeline's artifact
path, which has no algorithm in it), so two estimators fitted on the same data with the same
autoencoder settings pretrain once. The cache is ``cache=`` if given, else
``$DEEPCLUST_CACHE``, else ``~/.cache/deepclust``; ``cache=False`` turns it off.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from deepclust import __version__, io
from deepclust.algorithms import ALGORITHMS
from deepclust.algorithms.base import nearest_center
from deepclust.config import validate_block
from deepclust.initial import check_n_clusters, kmeans_init
from deepclust.models.autoencoder import build, embed
from deepclust.models.pretrain import pretrain
from deepclust.seeding import resolve_device, seed_everything
from deepclust.stages import autoencoder_record, load_autoencoder

CACHE_ENV = "DEEPCLUST_CACHE"
# What every estimator takes besides its algorithm's parameters, with the defaults.
COMMON = {
    "autoencoder": None,  # an autoencoders.<name> config dict, an nn.Module or a path to ae.pt
    "image_shape": None,  # (c, h, w) of each row, for conv autoencoders and augmentation
    "preset": "paper",
    "device": "auto",
    "random_state": None,
    "n_init": 20,  # k-means restarts of the initial clustering (the papers: 20)
    "progress": False,
    "cache": None,
}
CLASS_NAMES = {
    "aekm": "AEKMeans",
    "dec": "DEC",
    "idec": "IDEC",
    "dcec": "DCEC",
    "dcn": "DCN",
    "aec": "AEC",
    "dkm": "DKM",
    "dekm": "DEKM",
    "damic": "DAMIC",
    "dynae": "DynAE",
}


class DeepClusterer(ClusterMixin, TransformerMixin, BaseEstimator):
    """What every estimator is; subclasses only name their algorithm (``algorithm``)."""

    algorithm: ClassVar[str]

    def fit(self, X, y=None):
        """Pretrain (or load) the autoencoder, cluster its embedding with k-means and refine
        with the algorithm. ``y`` is ignored."""
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        spec = ALGORITHMS[self.algorithm]
        params = self._resolved_params()
        check_n_clusters(len(X), self.n_clusters)
        seed = self.random_state  # an int is the pipeline's seed; else draw one
        if not isinstance(seed, int | np.integer):
            seed = check_random_state(seed).randint(np.iinfo(np.int32).max)
        seed = int(seed)
        device = resolve_device(self.device)
        data = torch.from_numpy(np.ascontiguousarray(X)).to(device)
        # Each step seeds afresh, as the pipeline's pretrain, init and fit stages do: the
        # same data, settings and seed give the pipeline's result, cached autoencoder or not.
        pretrained = self._autoencoder(data, seed, seed_everything(seed)).to(device)
        seed_everything(seed)
        z = embed(pretrained, data).cpu().numpy()
        init = kmeans_init(z, self.n_clusters, n_init=self.n_init, max_iter=300, seed=seed)
        generator = seed_everything(seed)
        result = spec.fit(
            pretrained, data, init, params, generator=generator, progress=self.progress
        )
        self.autoencoder_ = pretrained
        if "autoencoder" in result.state:  # the refinement fine-tuned a copy
            self.autoencoder_ = build(pretrained.arch)
            self.autoencoder_.load_state_dict(result.state["autoencoder"])
        self.autoencoder_.cpu().eval()
        self.params_ = params
        self.labels_ = result.labels.astype(np.int64)
        self.embedding_ = result.embedding
        self.cluster_centers_ = result.centers
        self.history_ = pd.DataFrame(result.history)
        self.n_iter_ = int(self.history_["step"].max()) if "step" in self.history_ else 0
        return self

    def predict(self, X) -> np.ndarray:
        """The nearest cluster centre of each sample's embedding (DEC-style methods assign by
        the largest soft assignment, which for a Student-t kernel is the nearest centre)."""
        check_is_fitted(self, "labels_")
        if self.cluster_centers_ is None:
            raise ValueError(
                f"{type(self).__name__} has no cluster centres to assign new samples to; "
                "use fit_predict on the data to cluster"
            )
        z = torch.from_numpy(self.transform(X))
        return nearest_center(z, torch.from_numpy(self.cluster_centers_)).numpy()

    def transform(self, X) -> np.ndarray:
        """The embedding of ``X`` by the fitted encoder."""
        check_is_fitted(self, "labels_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return embed(self.autoencoder_, torch.from_numpy(np.ascontiguousarray(X))).numpy()

    def _resolved_params(self):
        """The algorithm's params: the preset, then every parameter that is not None; checked
        by the config schema, so errors read like a config's."""
        spec = ALGORITHMS[self.algorithm]
        block = {"preset": self.preset}
        block.update({f: getattr(self, f) for f in _fields(spec) if getattr(self, f) is not None})
        block = validate_block(self.algorithm, block, f"{type(self).__name__}")
        return spec.params_from_config(block)

    def _autoencoder(self, X: torch.Tensor, seed: int, generator: torch.Generator) -> nn.Module:
        """The pretrained autoencoder: the given module or artifact, a cached one, or a new
        pretraining (then cached)."""
        ae = self.autoencoder
        if isinstance(ae, nn.Module):
            return copy.deepcopy(ae)
        if isinstance(ae, str | os.PathLike):
            return _load(Path(ae))
        ae_cfg = validate_block("autoencoder", ae or {}, f"{type(self).__name__}.autoencoder")
        shape = tuple(self.image_shape) if self.image_shape is not None else None
        cached = _cache_path(self.cache, X, ae_cfg, seed)
        if cached is not None and cached.is_file():
            return _load(cached)
        start = time.perf_counter()
        model, _ = pretrain(ae_cfg, X, generator=generator, image_shape=shape,
                                  progress=self.progress)  # fmt: skip
        if cached is not None:
            record = autoencoder_record(model, ae_cfg, seed, time.perf_counter() - start)
            io.save_torch(cached, record)
        return model


def _fields(spec) -> list[str]:
    return [f.name for f in dataclasses.fields(spec.params)]


def _load(path: Path) -> nn.Module:
    """An autoencoder from a pipeline artifact (``ae.pt``) or the estimators' cache."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such autoencoder file (a pipeline's ae.pt)")
    return load_autoencoder(path)


def _cache_path(cache: Any, X: torch.Tensor, ae_cfg: dict, seed: int) -> Path | None:
    if cache is False:
        return None
    root = Path(cache or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "deepclust")
    key = hashlib.sha256(X.cpu().numpy().tobytes())
    key.update(json.dumps([ae_cfg, seed, __version__, torch.__version__, X.device.type],
                          sort_keys=True).encode())  # fmt: skip
    return root / "autoencoders" / f"{key.hexdigest()[:24]}.pt"


def _make(name: str) -> type[DeepClusterer]:
    """The estimator class of algorithm ``name``: ``__init__`` stores its arguments (those
    ``get_params`` reads from its signature), nothing else."""
    fields = _fields(ALGORITHMS[name])
    class_name = CLASS_NAMES.get(name, name.upper())
    defaults = {**COMMON, **dict.fromkeys(fields)}

    def __init__(self, n_clusters: int = 8, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            known = ", ".join(["n_clusters", *defaults])
            raise TypeError(f"{type(self).__name__}: unknown parameter(s) {sorted(unknown)}; "
                            f"known: {known}")  # fmt: skip
        self.n_clusters = n_clusters
        for key, default in defaults.items():
            setattr(self, key, kwargs.get(key, default))

    KW = inspect.Parameter.KEYWORD_ONLY
    __init__.__signature__ = inspect.Signature(
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("n_clusters", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=8),
            *(inspect.Parameter(k, KW, default=v) for k, v in defaults.items()),
        ]
    )
    doc = (
        f"{class_name}: the ``{name}`` algorithm as a scikit-learn estimator "
        f"(``deepclust.algorithms.{name}``). Parameters: ``n_clusters``, the common ones "
        f"({', '.join(COMMON)}) and the algorithm's ({', '.join(fields) or 'none'}; None = "
        "the preset's value)."
    )
    return type(
        class_name,
        (DeepClusterer,),
        {"algorithm": name, "__init__": __init__, "__doc__": doc, "__module__": __name__},
    )


ESTIMATORS: dict[str, type[DeepClusterer]] = {name: _make(name) for name in ALGORITHMS}
BY_CLASS_NAME = {cls.__name__: cls for cls in ESTIMATORS.values()}
globals().update(BY_CLASS_NAME)  # module attributes, so that fitted estimators pickle
