"""Checkpoint and resume: an interrupted stage, rerun, gives the uninterrupted result bit for bit.

In process, every algorithm and both pretraining modes are interrupted at a step boundary
(as SIGTERM does) and resumed. As subprocesses, ``deepclust pretrain`` and ``deepclust fit``
are killed with SIGTERM and SIGKILL after a checkpoint exists, then rerun.
"""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from deepclust import io, stages
from deepclust.algorithms import ALGORITHMS
from deepclust.config import load
from deepclust.models.pretrain import pretrain
from deepclust.training import TERMINATED_EXIT_CODE, Checkpointer, Terminated, checkpointing
from tests.conftest import TINY_CONFIG

QUICK = {
    "aekm": {},
    "dec": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "tol": 0.0},
    "idec": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "tol": 0.0},
    "dcn": {"epochs": 4, "batch_size": 32},
    "aec": {"epochs": 4, "batch_size": 32},
    "dkm": {"n_alphas": 2, "epochs_per_alpha": 2, "batch_size": 32, "annealing": True},
    "dekm": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "tol": 0.0},
    "dynae": {"update_interval": 3, "max_iter": 14, "batch_size": 32, "augment": False},
    "damic": {
        "preset": "fast",
        "pretrain_epochs": 2,
        "epochs": 3,
        "batch_size": 32,
        "hidden": [16, 8],
        "classifier_hidden": [16],
    },
    "den": {"epochs": 4, "batch_size": 32, "kmeans_n_init": 2},
    "acedec": {"max_iter": 12, "batch_size": 32},
    "dipencoder": {"epochs": 4, "batch_per_cluster": 10, "min_points": 4},
    "vade": {"epochs": 4, "batch_size": 32},
}  # n2d, ddc: no training; dcec needs a convolutional autoencoder (idec's code, resumed above)


def _interrupt_at(monkeypatch, boundary: int) -> None:
    """Make the loop act as if SIGTERM arrived at its ``boundary``-th step boundary."""
    due, calls = Checkpointer.due, [0]

    def fake_due(self):
        calls[0] += 1
        if calls[0] == boundary:
            self.terminate = True
        return due(self)

    monkeypatch.setattr(Checkpointer, "due", fake_due)


def _equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("name", [n for n in QUICK if n != "aekm"])
def test_every_algorithm_resumes_bit_identically(name, blobs, tiny_ae, tiny_init, tmp_path,
                                                 monkeypatch):  # fmt: skip
    X, _ = blobs
    spec = ALGORITHMS[name]
    params = spec.params_from_config({"preset": "paper", **QUICK[name]})
    path = tmp_path / ".checkpoint.pt"

    def run():
        torch.manual_seed(0)
        with checkpointing(path, f"{name}-0", every_s=None) as ckpt:
            ae = copy.deepcopy(tiny_ae)
            return spec.fit(ae, X, tiny_init, params, generator=torch.Generator().manual_seed(0),
                            progress=False, checkpointer=ckpt)  # fmt: skip

    reference = run()
    assert not path.exists()  # removed on success
    for boundary in (2, 7):  # in the first epoch, and later (after a target/centre update)
        with monkeypatch.context() as m:
            _interrupt_at(m, boundary)
            with pytest.raises(Terminated) as err:
                run()
        assert err.value.code == TERMINATED_EXIT_CODE and path.exists()
        resumed = run()
        for field in ("labels", "embedding", "centers", "history", "state"):
            assert _equal(getattr(resumed, field), getattr(reference, field)), (boundary, field)


@pytest.mark.parametrize("mode", ["end_to_end", "layerwise"])
def test_pretraining_resumes_bit_identically(mode, blobs, tmp_path, monkeypatch):
    X, _ = blobs
    cfg = {
        "hidden": [16, 8], "embedding_dim": 3, "epochs": 3, "batch_size": 32, "lr": 0.01,
        "optimizer": "adam", "pretraining": mode, "layerwise_epochs": 2, "layerwise_lr_step": 4,
    }  # fmt: skip
    path = tmp_path / ".checkpoint.pt"

    def run():
        torch.manual_seed(0)
        with checkpointing(path, mode, every_s=None) as ckpt:
            return pretrain(cfg, X, generator=torch.Generator().manual_seed(0), progress=False,
                            checkpointer=ckpt)  # fmt: skip

    ref_ae, ref_history = run()
    # layer-wise: 3 phases of 6 steps, then 9 end-to-end steps; interrupt in each kind of phase
    for boundary in (3, 8, 13) if mode == "layerwise" else (4,):
        with monkeypatch.context() as m:
            _interrupt_at(m, boundary)
            with pytest.raises(Terminated):
                run()
        ae, history = run()
        assert _equal(ae.state_dict(), ref_ae.state_dict()) and history == ref_history


def test_a_checkpoint_of_another_config_is_ignored_with_a_warning(blobs, tmp_path, monkeypatch):
    X, _ = blobs
    cfg = {"hidden": [8], "embedding_dim": 2, "epochs": 2, "batch_size": 32, "lr": 0.01,
           "optimizer": "adam"}  # fmt: skip
    path = tmp_path / ".checkpoint.pt"

    def run(stamp):
        torch.manual_seed(0)
        with checkpointing(path, stamp, every_s=None) as ckpt:
            return pretrain(cfg, X, generator=torch.Generator().manual_seed(0), progress=False,
                            checkpointer=ckpt)  # fmt: skip

    reference = run("a")[0]
    with monkeypatch.context() as m:
        _interrupt_at(m, 3)
        with pytest.raises(Terminated):
            run("b")
    with pytest.warns(UserWarning, match="ignoring checkpoint"):
        fresh = run("a")[0]
    assert _equal(fresh.state_dict(), reference.state_dict()) and not path.exists()


# --- subprocesses killed by a signal -----------------------------------------------------------


@pytest.fixture(scope="module")
def stage_inputs(tmp_path_factory):
    """Config (checkpoint every step, longer training), digits, a pretrained AE and its init."""
    root = tmp_path_factory.mktemp("ckpt")
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    cfg["checkpoint_every_s"] = 0.05
    cfg["autoencoders"]["dense"]["epochs"] = 500  # ≈ 2 s on a quiet CPU: killed mid-training
    cfg["algorithms"]["dec"] = {"preset": "fast", "max_iter": 500, "update_interval": 10,
                                "tol": 0.0}  # fmt: skip
    (root / "config.yaml").write_text(yaml.safe_dump(cfg))
    config = load(root / "config.yaml")
    data = root / "digits.npz"
    stages.prepare(config, "digits", data)
    short = copy.deepcopy(config)
    short["autoencoders"]["dense"]["epochs"] = 2
    stages.pretrain(short, "dense", data, 0, root / "ae")
    stages.init(config, root / "ae" / "ae.pt", data, 0, root / "init.npz")
    return root, config


def _command(stage: str, root: Path, out: Path) -> list[str]:
    common = ["--config", str(root / "config.yaml"), "--data", str(root / "digits.npz"),
              "--seed", "0", "--out", str(out)]  # fmt: skip
    if stage == "pretrain":
        return [sys.executable, "-m", "deepclust", "pretrain", "--ae", "dense", *common]
    return [sys.executable, "-m", "deepclust", "fit", "--algorithm", "dec", "--pretrained",
            str(root / "ae" / "ae.pt"), "--init", str(root / "init.npz"), *common]  # fmt: skip


def _run_stage_in_process(stage: str, root: Path, config: dict, out: Path) -> None:
    if stage == "pretrain":
        stages.pretrain(config, "dense", root / "digits.npz", 0, out)
    else:
        stages.fit(config, "dec", root / "ae" / "ae.pt", root / "init.npz", root / "digits.npz",
                   0, out)  # fmt: skip


def _comparable(stage: str, out: Path) -> dict:
    """The outputs without their runtimes."""
    files = {"history": (out / "history.csv").read_text()}
    if stage == "pretrain":
        files["model"] = io.load_torch(out / "ae.pt")["state_dict"]
    else:
        result = io.read_npz(out / "result.npz")
        files.update({k: result[k] for k in ("labels", "embedding", "centers")})
        files["model"] = io.load_torch(out / "model.pt")["state"]
    return files


@pytest.fixture
def one_thread(project_env):
    """One torch thread here and in the subprocesses: on a busy machine two threads per
    process are several times slower (and the results are the same)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield {**project_env, "OMP_NUM_THREADS": "1"}
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("stage", "sig"),
    [
        ("pretrain", signal.SIGTERM),
        ("fit", signal.SIGKILL),
        pytest.param("fit", signal.SIGTERM, marks=pytest.mark.slow),
        pytest.param("pretrain", signal.SIGKILL, marks=pytest.mark.slow),
    ],
)
def test_a_killed_stage_resumes_to_the_uninterrupted_result(stage, sig, stage_inputs,
                                                            one_thread, tmp_path):  # fmt: skip
    root, config = stage_inputs
    env = one_thread
    _run_stage_in_process(stage, root, {**config, "checkpoint_every_s": None}, tmp_path / "ref")
    reference = _comparable(stage, tmp_path / "ref")

    out = tmp_path / "killed"
    checkpoint = out / stages.CHECKPOINT
    command = _command(stage, root, out)
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # a few more checkpoints, then kill it mid-training
    assert proc.poll() is None, "the stage ended before it could be killed: train longer"
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert proc.returncode == TERMINATED_EXIT_CODE, stderr[-2000:]
        assert "SIGTERM: checkpoint written" in stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    # no artifact, whole or half-written: only the checkpoint (and, after SIGKILL, the dead
    # process's lock and perhaps the temporary file of a checkpoint being written, which the
    # rerun takes over and removes)
    left = sorted(p.name for p in out.iterdir())
    assert stages.CHECKPOINT in left, left
    others = [n for n in left if n != stages.CHECKPOINT]
    if sig == signal.SIGTERM:
        assert others == [], left
    else:
        assert ".lock" in others
        assert all(n.startswith(f".{stages.CHECKPOINT}.") and n.endswith(".tmp")
                   for n in others if n != ".lock")  # fmt: skip
    assert io.load_torch(checkpoint)["phases"][-1]["step"] > 0

    rerun = subprocess.run(_command(stage, root, out), env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "resuming from checkpoint" in rerun.stderr
    assert ("taking over the stale lock" in rerun.stderr) == (sig == signal.SIGKILL)
    outputs = ["history.csv", "ae.pt"] if stage == "pretrain" else ["history.csv", "model.pt",
                                                                     "result.npz"]  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == sorted([*outputs, ".kept"])
    assert _equal(_comparable(stage, out), reference)
    assert not pd.read_csv(out / "history.csv").empty
