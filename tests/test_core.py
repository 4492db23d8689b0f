"""The shared pieces: training loop, atomic writes, registries, seeding, n_clusters checks."""

import pkgutil
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import deepclust.algorithms as algorithms_pkg
from deepclust import io
from deepclust.algorithms import ALGORITHMS, get
from deepclust.data.registry import DATASETS
from deepclust.data.registry import get as get_dataset
from deepclust.initial import kmeans_init
from deepclust.models.autoencoder import FeedforwardAutoencoder, build
from deepclust.models.pretrain import pretrain
from deepclust.seeding import resolve_device
from deepclust.training import NonFiniteLossError, Objective, TrainingState, train


def test_every_algorithm_module_is_registered():
    modules = {m.name for m in pkgutil.iter_modules(algorithms_pkg.__path__)} - {"base"}
    assert modules == set(ALGORITHMS)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown algorithm 'deck'; known: aekm, dec, idec, "):
        get("deck")
    with pytest.raises(ValueError, match=f"unknown dataset 'x'; known: {', '.join(DATASETS)}"):
        get_dataset("x")


def test_n_clusters_larger_than_n_samples_is_a_clear_error():
    with pytest.raises(ValueError, match="n_clusters=5 is larger than n_samples=3"):
        kmeans_init(np.zeros((3, 2)), 5, n_init=1, max_iter=10, seed=0)


def test_nan_loss_raises_naming_the_step():
    X = torch.ones(10, 2)
    w = torch.nn.Parameter(torch.ones(1))
    objective = Objective(
        batch_loss=lambda x, idx: {"loss": w * (x.sum() / 0 if idx[0] >= 0 else 0)}
    )
    optimizer = torch.optim.SGD([w], lr=0.1)
    with pytest.raises(NonFiniteLossError, match="non-finite loss at step 0"):
        train(
            objective,
            X,
            optimizer,
            batch_size=5,
            max_steps=3,
            generator=torch.Generator(),
            progress=False,
        )


def test_loop_visits_every_sample_once_per_epoch_and_logs_each_epoch():
    X = torch.arange(10, dtype=torch.float32)[:, None]
    seen: list[int] = []
    w = torch.nn.Parameter(torch.zeros(1))

    def batch_loss(x, idx):
        seen.extend(idx.tolist())
        return {"loss": (w * x).sum()}

    history = train(
        Objective(batch_loss=batch_loss),
        X,
        torch.optim.SGD([w], lr=0.0),
        batch_size=4,
        max_steps=6,
        generator=torch.Generator().manual_seed(0),
        progress=False,
    )
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:]) == list(range(10))
    assert [(r["step"], r["epoch"]) for r in history] == [(3, 1), (6, 2)]


@dataclass
class _State(TrainingState):
    centers: torch.Tensor
    count: int
    history: list
    net: torch.nn.Linear


def test_a_declared_state_round_trips_loading_modules_in_place_and_replacing_the_rest():
    torch.manual_seed(0)
    saved = _State(torch.ones(2, 3), 4, [1.0, {"a": 2}], torch.nn.Linear(2, 1))
    record = saved.state_dict()
    torch.manual_seed(1)
    net = torch.nn.Linear(2, 1)
    state = _State(torch.zeros(0, dtype=torch.float64), 0, [], net)
    state.load_state_dict(record)
    assert state.net is net and torch.equal(net.weight, saved.net.weight)  # in place
    assert torch.equal(state.centers, saved.centers) and state.count == 4
    assert state.history == [1.0, {"a": 2}] and state.history is not saved.history  # a copy
    record["count"] = 5
    assert state.count == 4  # the loaded values do not follow the record


def test_pretraining_lowers_the_reconstruction_error_and_is_seeded(blobs):
    X, _ = blobs
    cfg = {
        "hidden": [16],
        "embedding_dim": 3,
        "epochs": 30,
        "batch_size": 32,
        "optimizer": "adam",
        "lr": 0.01,
    }
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(pretrain(cfg, X, generator=torch.Generator().manual_seed(0), progress=False))
    (ae, history), (ae2, _) = runs
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert all(
        torch.equal(a, b)
        for a, b in zip(ae.state_dict().values(), ae2.state_dict().values(), strict=True)
    )
    rebuilt = build(ae.arch)
    assert isinstance(rebuilt, FeedforwardAutoencoder) and rebuilt.dims == [8, 16, 3]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.json"
    io.write_json(target, {"acc": 1})
    with pytest.raises(TypeError):
        io.write_json(target, {"acc": object()})
    assert io.read_json(target) == {"acc": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_requested_cuda_without_a_gpu_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"device 'cuda' was requested but torch .* cannot"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_embedded_datasets_have_their_documented_shapes():
    X, y = DATASETS["digits"].load(None)
    assert X.shape == (1797, 64) and X.dtype == np.float32 and 0 <= X.min() and X.max() == 1
    assert np.unique(y).size == 10
    X, y = DATASETS["damic_synthetic"].load(None)
    assert X.shape == (4000, 100) and np.bincount(y).tolist() == [1000] * 4
    assert 0 < X.min() and X.max() <= 1  # (σ(Wv))² lies in (0, 1); float32 rounds up to 1
    X2, _ = DATASETS["damic_synthetic"].load(None)
    assert np.array_equal(X, X2)
