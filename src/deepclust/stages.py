"""The training stages: prepare → pretrain → init → fit (the torch side of the pipeline).

Each is one function that the CLI, Snakemake and DVC call; evaluate and summarize live in
``evaluate.py`` and the report in ``report.py`` so that those commands start without torch.
Every stage reads explicit input paths, writes explicit outputs atomically, and takes its
settings from the validated config.

Hardening (issue 22): inputs are verified where they are read (a prepared dataset against the
sha256 in its card, models with a readable error); a stage holds a lock on its outputs
(``outputs.hold``), so two processes never write one folder; pretrain and fit keep their
finished outputs in ``.kept/`` and restore them instead of training again when Snakemake
reruns them with the same fingerprint (``outputs.keep``); a refinement that ends degenerate
fails (``degenerate.py``, or is recorded with ``on_degenerate: warn``); the training time
sums over resumes, and the thread count is recorded with every artifact.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from deepclust import __version__, degenerate, io, outputs, paths
from deepclust.algorithms import get as get_algorithm
from deepclust.algorithms.base import InitialClustering
from deepclust.data.registry import get as get_dataset
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import build, embed
from deepclust.models.pretrain import pretrain as pretrain_autoencoder
from deepclust.provenance import describe, device_record, environment
from deepclust.seeding import resolve_device, seed_everything
from deepclust.settings import for_dataset
from deepclust.training import checkpointing

log = logging.getLogger("deepclust")


def prepare(config: dict, dataset: str, out: Path, mirror: Path | None = None) -> None:
    """Build a dataset's arrays (X float32 (n, d), y int64) and its JSON card next to them."""
    spec = get_dataset(dataset)
    with outputs.hold(out, folder=False):
        X, y = spec.load(mirror)
        check_loaded(spec, X, y)
        _write_prepared(spec, X, y.astype(np.int64), Path(out))
    log.info("prepared %s: n=%d d=%d k=%d → %s", dataset, *X.shape, spec.n_clusters, out)


def _write_prepared(spec, X: np.ndarray, y: np.ndarray, out: Path) -> None:
    shape = {"image_shape": np.array(spec.image_shape, np.int64)} if spec.image_shape else {}
    io.write_npz(out, X=X, y=y, n_clusters=np.int64(spec.n_clusters), **shape)
    counts = np.bincount(y)
    io.write_json(
        paths.card(out),
        {
            "name": spec.name,
            "n": int(X.shape[0]),
            "d": int(X.shape[1]),
            "k": spec.n_clusters,
            "kind": spec.kind,
            "image_shape": spec.image_shape,
            "source": spec.source,
            "class_counts": counts.tolist(),
            "value_range": [float(X.min()), float(X.max())],
            "sha256_X": hashlib.sha256(X.tobytes()).hexdigest(),
            "sha256_y": hashlib.sha256(y.tobytes()).hexdigest(),
        },
    )


PRETRAIN_OUTPUTS = [paths.name(paths.AE_MODEL), paths.name(paths.AE_HISTORY)]
FIT_OUTPUTS = [paths.name(p) for p in (paths.RUN_RESULT, paths.RUN_HISTORY, paths.RUN_MODEL)]


def check_loaded(spec, X, y) -> None:
    """The loader contract (``data/registry.py``): X float32 (n, d), finite, in the registered
    ``value_range`` for images ([0, 1] but for ``usps_signed``); y integer labels of shape
    (n,) in 0..k-1, k the registered number of clusters. Each error names the dataset, the
    array and what to change."""
    where = f"dataset '{spec.name}' (loader {getattr(spec.load, '__qualname__', spec.load)})"
    if not isinstance(X, np.ndarray) or X.dtype != np.float32 or X.ndim != 2:
        got = f"{type(X).__name__} {getattr(X, 'dtype', '')} {getattr(X, 'shape', '')}"
        raise ValueError(f"{where}: X must be a float32 array of shape (n, d); got {got}")
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.integer):
        got = f"{type(y).__name__} {getattr(y, 'dtype', '')}"
        raise ValueError(f"{where}: y must be an integer array (labels); got {got}")
    if y.shape != (len(X),):
        raise ValueError(f"{where}: y must have shape ({len(X)},) like X's rows; got {y.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{where}: X has {int((~np.isfinite(X)).sum())} NaN or infinite values")
    k = spec.n_clusters
    if y.min() < 0 or y.max() >= k:
        raise ValueError(
            f"{where}: labels must lie in 0..{k - 1} (registered n_clusters={k}); y has "
            f"{y.min()}..{y.max()} ({np.unique(y).size} classes): relabel y to 0..k-1 or fix "
            "n_clusters in the registry"
        )
    if spec.image_shape is not None:
        if int(np.prod(spec.image_shape)) != X.shape[1]:
            raise ValueError(
                f"{where}: image_shape {spec.image_shape} has {int(np.prod(spec.image_shape))} "
                f"values but X has {X.shape[1]} columns"
            )
        low, high = spec.value_range
        if X.min() < low or X.max() > high:
            raise ValueError(
                f"{where}: image values must be in [{low:g}, {high:g}]; X has "
                f"{X.min():g}..{X.max():g} (divide 8-bit pixels by 255)"
            )


def pretrain(config: dict, ae: str, data: Path, seed: int, out_dir: Path) -> None:
    """Pretrain autoencoder configuration ``ae`` on ``data``; write ae.pt and history.csv.

    Checkpointed to ``out_dir/.checkpoint.pt`` (see ``training``); a rerun resumes from it.
    Restored from ``out_dir/.kept`` instead when an identical run made it (``outputs``)."""
    ae_cfg = for_dataset(_config_entry(config, "autoencoders", ae, "--ae"), dataset_name(data))
    out_dir = Path(out_dir)
    with outputs.hold(out_dir, folder=True):
        device = _device(config, "pretrain")
        arrays = io.read_prepared(data)
        stamp = _fingerprint("pretrain", ae_cfg, seed, device, data=_data_digest(arrays))
        if outputs.restore(out_dir, PRETRAIN_OUTPUTS, stamp):
            return
        generator = seed_everything(seed)
        X = torch.from_numpy(arrays["X"]).to(device)
        with checkpointing(out_dir / CHECKPOINT, stamp, config["checkpoint_every_s"]) as ckpt:
            shape = image_shape(arrays)
            _pretrain(config, ae, ae_cfg, X, shape, data, seed, generator, out_dir, ckpt)
        outputs.keep(out_dir, PRETRAIN_OUTPUTS, stamp)


def _pretrain(config, ae, ae_cfg, X, shape, data, seed, generator, out_dir: Path, ckpt) -> None:
    model, history = pretrain_autoencoder(
        ae_cfg, X, generator=generator, image_shape=shape, progress=config["progress"],
        checkpointer=ckpt,
    )  # fmt: skip
    runtime = ckpt.elapsed_s()
    record = autoencoder_record(
        model, ae_cfg, seed, runtime, data_sha256=io.sha256_file(data), run=device_record(X.device)
    )
    io.save_torch(out_dir / paths.name(paths.AE_MODEL), record)
    io.write_csv(out_dir / paths.name(paths.AE_HISTORY), pd.DataFrame(history))
    log.info(
        "pretrained %s on %s in %.1f s, final loss %.4g", ae, data, runtime, history[-1]["loss"]
    )


def init(config: dict, pretrained: Path, data: Path, seed: int, out: Path) -> None:
    """k-means on the pretrained embedding; write labels, centers and inertia."""
    with outputs.hold(out, folder=False):
        seed_everything(seed)
        arrays = io.read_prepared(data)
        ae = load_autoencoder(pretrained)
        z = embed(ae, torch.from_numpy(arrays["X"])).numpy()
        result = kmeans_init(
            z,
            int(arrays["n_clusters"]),
            n_init=config["init"]["n_init"],
            max_iter=config["init"]["max_iter"],
            seed=seed,
        )
        io.write_npz(out, labels=result.labels, centers=result.centers, inertia=result.inertia)
    log.info("k-means on %s: inertia %.4g → %s", pretrained, result.inertia, out)


def fit(
    config: dict,
    algorithm: str,
    pretrained: Path,
    init_path: Path,
    data: Path,
    seed: int,
    out_dir: Path,
) -> None:
    """Refine with ``algorithm``; write result.npz, history.csv and model.pt to ``out_dir``.

    Checkpointed to ``out_dir/.checkpoint.pt`` (see ``training``); a rerun resumes from it.
    Restored from ``out_dir/.kept`` instead when an identical run made it (``outputs``).
    A degenerate result (``degenerate.py``) fails the stage unless ``on_degenerate: warn``."""
    spec = get_algorithm(algorithm)
    block = _config_entry(config, "algorithms", algorithm, "--algorithm")
    params = spec.params_from_config(block, dataset_name(data))
    out_dir = Path(out_dir)
    with outputs.hold(out_dir, folder=True):
        device = _device(config, "fit")
        arrays = io.read_prepared(data)
        init_arrays = io.read_npz(init_path)
        stamp = _fingerprint(
            "fit", {algorithm: params.__dict__}, seed, device, data=_data_digest(arrays),
            pretrained=io.sha256_file(pretrained), init=io.array_digest(**init_arrays),
        )  # fmt: skip
        if outputs.restore(out_dir, FIT_OUTPUTS, stamp):
            return
        generator = seed_everything(seed)
        X = torch.from_numpy(arrays["X"]).to(device)
        ae = load_autoencoder(pretrained).to(device)
        initial = InitialClustering(labels=init_arrays["labels"], centers=init_arrays["centers"])
        k = int(arrays["n_clusters"])
        with checkpointing(out_dir / CHECKPOINT, stamp, config["checkpoint_every_s"]) as ckpt:
            result, symptoms = _refine(config, spec, algorithm, params, ae, X, initial, k,
                                       generator, ckpt)  # fmt: skip
            runtime = ckpt.elapsed_s()
            _write_run(result, params, runtime, seed, out_dir, symptoms, device_record(X.device))
            log.info("%s finished in %.1f s → %s", algorithm, runtime, out_dir)
        outputs.keep(out_dir, FIT_OUTPUTS, stamp)


def _refine(config, spec, algorithm, params, ae, X, initial, k, generator, checkpointer):
    """The algorithm's result and what is degenerate about it (``on_degenerate: warn``; with
    ``error`` a degenerate result raises)."""
    start_embedding = embed(ae, X).cpu().numpy()
    result = spec.fit(
        ae, X, initial, params, generator=generator, progress=config["progress"],
        checkpointer=checkpointer,
    )  # fmt: skip
    found = degenerate.symptoms(result, k, start_embedding, chooses_k=spec.chooses_k)
    if found:
        text = degenerate.message(algorithm, result, found)
        if config["on_degenerate"] == "error":
            advice = "; to keep and mark such runs instead, set `on_degenerate: warn`"
            raise degenerate.DegenerateResultError(text + advice)
        log.warning("%s (the run is kept and marked: on_degenerate is warn)", text)
    return result, found


def _write_run(result, params, runtime: float, seed: int, out_dir: Path, symptoms, run) -> None:
    io.write_csv(
        out_dir / paths.name(paths.RUN_HISTORY),
        pd.DataFrame(result.history, columns=_history_columns(result.history)),
    )
    threads = torch.get_num_threads()
    io.save_torch(
        out_dir / paths.name(paths.RUN_MODEL),
        {
            "state": result.state,
            "params": params.__dict__,
            "threads": threads,
            "deepclust_version": __version__,
            "environment": environment(),
            "run": run,
        },
    )
    io.write_npz(
        out_dir / paths.name(paths.RUN_RESULT),
        labels=result.labels.astype(np.int64),
        embedding=result.embedding.astype(np.float32),
        centers=np.asarray(result.centers if result.centers is not None else [], np.float32),
        runtime_s=np.float64(runtime),
        seed=np.int64(seed),
        threads=np.int64(threads),
        degenerate=np.array("; ".join(symptoms)),  # empty: not degenerate
        run=np.array(json.dumps(run)),  # where it ran: provenance.device_record
    )


def _device(config: dict, stage: str):
    """The device a training stage uses (``seeding.resolve_device``), logged with where it runs."""
    device = resolve_device(config["device"], config["allow_cpu_fallback"])
    log.info("%s on %s", stage, describe(device_record(device)))
    return device


def dataset_name(data: Path) -> str:
    """The name of the dataset prepared in ``data``, from the card ``prepare`` wrote beside it."""
    card = paths.card(data)
    if not card.is_file():
        raise FileNotFoundError(f"{card}: the card of {data} is missing; rerun `deepclust prepare`")
    return io.read_json(card)["name"]


def image_shape(arrays: dict[str, np.ndarray]) -> tuple[int, int, int] | None:
    """The (c, h, w) of a prepared dataset's rows, or None if they are not images."""
    return tuple(int(v) for v in arrays["image_shape"]) if "image_shape" in arrays else None


CHECKPOINT = ".checkpoint.pt"  # in the stage's output folder while it runs


def _fingerprint(stage: str, settings, seed: int, device, **input_sha256: str) -> str:
    """What a checkpoint must match to be resumed, and kept outputs to be restored: stage,
    settings, seed, device, the inputs' contents, the package's code and the deepclust and
    torch versions."""
    return json.dumps(
        {
            "stage": stage,
            "settings": settings,
            "seed": seed,
            "device": str(device),
            "inputs": input_sha256,
            "code": _code_digest(),
            "versions": [__version__, torch.__version__],
        },
        sort_keys=True,
        default=str,
    )


def _code_digest() -> str:
    """sha256 of the package's Python sources: an edited algorithm is not an identical run."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for source in sorted(root.rglob("*.py")):
        digest.update(str(source.relative_to(root)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _data_digest(arrays: dict[str, np.ndarray]) -> str:
    """The prepared dataset's identity: its arrays, not its file (which stores write times)."""
    return io.array_digest(**arrays)


def _config_entry(config: dict, section: str, name: str, option: str) -> dict:
    """``config[section][name]``, or an error naming the option, the section and its keys."""
    if name not in config[section]:
        known = ", ".join(config[section]) or "(none)"
        raise ValueError(
            f"{option} {name}: the config has no {section}.{name} (its {section}: {known}); "
            f"add it to the config or pick one of those"
        )
    return config[section][name]


def autoencoder_record(model, ae_cfg: dict, seed: int, runtime: float, **extra) -> dict:
    """What ``ae.pt`` holds: the weights, the architecture to rebuild them, the settings and
    seed that produced them, the run time and the provenance (the estimators' cache too)."""
    return {
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "arch": model.arch,
        "config": ae_cfg,
        "seed": seed,
        **extra,
        "runtime_s": runtime,
        "threads": torch.get_num_threads(),
        "deepclust_version": __version__,
        "environment": environment(),
    }


def load_autoencoder(path: Path):
    fix = "rerun the pretrain stage that writes it (delete it first; snakemake reruns it)"
    checkpoint = io.load_torch(path, fix=fix)
    try:
        ae = build(checkpoint["arch"])
        ae.load_state_dict(checkpoint["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as err:
        raise io.CorruptFileError(
            f"{path} is not a pretrained autoencoder of this deepclust "
            f"({type(err).__name__}: {str(err).splitlines()[0][:160]}); {fix}"
        ) from err
    return ae


def _history_columns(history: list[dict]) -> list[str]:
    columns = list(dict.fromkeys(k for row in history for k in row))
    return columns or ["step", "epoch", "loss"]
