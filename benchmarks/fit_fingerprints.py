"""sha256 fingerprints of every registered algorithm's fit and of pretraining, uninterrupted and
resumed from a checkpoint, on tiny data (CPU, one thread, fixed seeds).

Run before and after a refactoring that must not change behaviour, then compare:

    python benchmarks/fit_fingerprints.py > before.json   # ... change the code ...
    python benchmarks/fit_fingerprints.py > after.json
    python benchmarks/fit_fingerprints.py --compare before.json after.json
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import sys
import warnings

import numpy as np
import torch

from deepclust import training
from deepclust.algorithms import ALGORITHMS
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import ConvAutoencoder, FeedforwardAutoencoder, embed
from deepclust.models.pretrain import pretrain
from deepclust.seeding import seed_everything

# A few steps each. Kept here, not imported from the tests (tests/test_checkpoint.py's QUICK is
# close): fingerprints recorded before a refactoring compare only if these settings stay fixed.
SETTINGS = {
    "aekm": {},
    "dec": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "tol": 0.0},
    "idec": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "tol": 0.0},
    "dcec": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "tol": 0.0},
    "dcn": {"epochs": 4, "batch_size": 32},
    "aec": {"epochs": 4, "batch_size": 32},
    "dkm": {"n_alphas": 2, "epochs_per_alpha": 2, "batch_size": 32, "annealing": True},
    "dekm": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "tol": 0.0},
    "dynae": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "augment": False},
    "damic": {"hidden": (16, 8), "classifier_hidden": (16, 3), "pretrain_epochs": 2,
              "epochs": 3, "batch_size": 32},
    "n2d": {"n_neighbors": 10},
    "den": {"epochs": 4, "batch_size": 32, "kmeans_n_init": 2},
    "ddc": {"tsne_max_iter": 250},
    "acedec": {"max_iter": 12, "batch_size": 32},
    "dipencoder": {"epochs": 4, "batch_per_cluster": 10, "min_points": 4},
    "vade": {"epochs": 4, "batch_size": 32},
}  # fmt: skip
AUGMENTED = ["dec", "idec", "dcec", "dcn", "aec", "dkm", "dynae"]  # Eq. 20-25 on 8×8 images
NOT_TRAINED = {"aekm", "n2d", "ddc"}  # no training loop, nothing to resume


def digest(obj) -> str:
    h = hashlib.sha256()

    def feed(o):
        if isinstance(o, torch.Tensor):
            o = o.detach().cpu().numpy()
        if isinstance(o, np.ndarray):
            h.update(f"{o.dtype}{o.shape}".encode() + np.ascontiguousarray(o).tobytes())
        elif isinstance(o, dict):
            for k in sorted(o, key=str):
                h.update(repr(k).encode())
                feed(o[k])
        elif isinstance(o, list | tuple):
            h.update(b"[")
            for v in o:
                feed(v)
            h.update(b"]")
        else:
            h.update(repr(o).encode())

    feed(obj)
    return h.hexdigest()[:16]


def blobs():
    rng = np.random.default_rng(0)
    centers = rng.uniform(0.1, 0.9, size=(3, 8))
    y = np.repeat(np.arange(3), 30)
    return torch.tensor(centers[y] + 0.03 * rng.standard_normal((90, 8)), dtype=torch.float32)


def images():
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(0.1, 0.9, size=(3, 64))
    y = np.repeat(np.arange(3), 30)
    return torch.tensor(prototypes[y] + 0.03 * rng.standard_normal((90, 64)), dtype=torch.float32)


def start(kind: str):
    X = images() if kind != "dense" else blobs()
    seed_everything(0)
    if kind == "dense":
        ae = FeedforwardAutoencoder([8, 16, 3])
    elif kind == "dense-image":
        ae = FeedforwardAutoencoder([64, 16, 3], image_shape=(1, 8, 8))
    else:
        ae = ConvAutoencoder((1, 8, 8), channels=[4, 8, 8], embedding_dim=3)
    init = kmeans_init(embed(ae, X).numpy(), 3, n_init=5, max_iter=100, seed=0)
    return X, ae, init


def fit(spec, ae, X, init, params, ckpt):
    kwargs = {"generator": torch.Generator().manual_seed(0), "progress": False}
    if "checkpointer" in inspect.signature(spec.fit).parameters:
        kwargs["checkpointer"] = ckpt
    return spec.fit(copy.deepcopy(ae), X, init, params, **kwargs)


def result_digests(r) -> dict:
    return {f: digest(getattr(r, f)) for f in ("labels", "embedding", "centers", "history",
                                                "state")}  # fmt: skip


def interrupted(boundary: int):
    """Patch the checkpointer to act as if SIGTERM arrived at its ``boundary``-th boundary."""
    due, calls = training.Checkpointer.due, [0]

    def fake_due(self):
        calls[0] += 1
        if calls[0] == boundary:
            self.terminate = True
        return due(self)

    return fake_due


def resumable(run, path) -> dict:
    """{uninterrupted, resumed at boundary 2, 7}: each run inside a checkpointing block."""
    out = {}
    original = training.Checkpointer.due
    for boundary in (None, 2, 7):
        if boundary is not None:
            training.Checkpointer.due = interrupted(boundary)
            try:
                with training.checkpointing(path, "fingerprint", every_s=None) as ckpt:
                    torch.manual_seed(0)
                    run(ckpt)
            except training.Terminated:
                pass
            finally:
                training.Checkpointer.due = original
        with training.checkpointing(path, "fingerprint", every_s=None) as ckpt:
            torch.manual_seed(0)
            out[f"resumed@{boundary}" if boundary else "uninterrupted"] = run(ckpt)
    return out


def main() -> dict:
    import tempfile
    from pathlib import Path

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    tmp = Path(tempfile.mkdtemp())
    out = {}
    cases = [(name, False) for name in ALGORITHMS] + [(name, True) for name in AUGMENTED]
    for name, augment in cases:
        spec = ALGORITHMS[name]
        kind = "conv" if name == "dcec" else ("dense-image" if augment else "dense")
        X, ae, init = start(kind)
        params = spec.params(**{**SETTINGS[name], **({"augment": True} if augment else {})})
        key = f"{name}{'+augment' if augment else ''}"
        if name in NOT_TRAINED:
            torch.manual_seed(0)
            out[key] = result_digests(fit(spec, ae, X, init, params, None))
        else:
            args = (spec, ae, X, init, params)
            runs = resumable(lambda ckpt, a=args: result_digests(fit(*a, ckpt)), tmp / f"{key}.pt")
            for run, digests in runs.items():
                out[f"{key} {run}"] = digests
        print(key, file=sys.stderr)
    ae_cfgs = {
        "end_to_end": {"hidden": [16, 8], "embedding_dim": 3, "epochs": 3, "batch_size": 32,
                       "lr": 0.01, "optimizer": "adam"},
        "end_to_end+augment": {"hidden": [16], "embedding_dim": 3, "epochs": 3, "batch_size": 32,
                               "lr": 0.01, "optimizer": "adam", "augment": True},
        "layerwise": {"hidden": [16, 8], "embedding_dim": 3, "epochs": 3, "batch_size": 32,
                      "lr": 0.01, "optimizer": "adam", "pretraining": "layerwise",
                      "layerwise_epochs": 2, "layerwise_lr_step": 4},
        "acai": {"hidden": [16], "embedding_dim": 3, "epochs": 3, "batch_size": 32,
                 "lr": 0.001, "optimizer": "adam", "pretraining": "acai", "augment": True},
    }  # fmt: skip
    for mode, cfg in ae_cfgs.items():
        image = cfg.get("augment", False)
        X = images() if image else blobs()

        def run(ckpt, cfg=cfg, X=X, image=image):
            kwargs = {"generator": torch.Generator().manual_seed(0), "progress": False,
                      "image_shape": (1, 8, 8) if image else None}  # fmt: skip
            if "checkpointer" in inspect.signature(pretrain).parameters:
                kwargs["checkpointer"] = ckpt
            ae, history = pretrain(cfg, X, **kwargs)
            return {"state": digest(ae.state_dict()), "history": digest(history)}

        for run_name, digests in resumable(run, tmp / f"pretrain-{mode}.pt").items():
            out[f"pretrain {mode} {run_name}"] = digests
        print("pretrain", mode, file=sys.stderr)
    return out


def compare(before_path: str, after_path: str) -> int:
    before, after = (json.load(open(p)) for p in (before_path, after_path))
    differing = 0
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        differing += 1
        b, a = b or {}, a or {}
        fields = sorted(f for f in set(b) | set(a) if b.get(f) != a.get(f))
        print(f"DIFFERS {key}: {', '.join(fields)}")
    # within one run, a resumed result must equal the uninterrupted one
    for name, run in ((before_path, before), (after_path, after)):
        for key, digests in run.items():
            if " resumed@" in key and run[key.split(" resumed@")[0] + " uninterrupted"] != digests:
                differing += 1
                print(f"RESUME DIFFERS in {name}: {key}")
    print(f"{len(before)} fingerprints before, {len(after)} after, {differing} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compare"]:
        sys.exit(compare(*sys.argv[2:4]))
    json.dump(main(), sys.stdout, indent=1, sort_keys=True)
