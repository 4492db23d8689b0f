"""Bad input and faults, as a demanding user or an adversary meets them (issue 22).

Each case asserts that the message names the file, key or number at fault, that nothing good
already written is deleted, and that a rerun recovers or the message says exactly what to do.
The good cases of the same adversarial run (bit-identical resume after a kill, refused
concurrent runs, blocked pickles, refused shell injection) are here or in test_checkpoint.py
and test_dvc_remote.py, so that they stay good.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from deepclust import algorithms, degenerate, evaluate, io, outputs, paths, stages
from deepclust.algorithms.base import ClusteringResult
from deepclust.cli import main
from deepclust.config import load
from deepclust.seeding import thread_budget
from deepclust.training import Checkpointer, Terminated
from tests.conftest import ROOT, TINY_CONFIG


def _write_config(path: Path, change=None) -> Path:
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    if change:
        change(cfg)
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The tiny config, digits prepared, a pretrained autoencoder and its k-means."""
    root = tmp_path_factory.mktemp("faults")
    config_path = _write_config(root / "config.yaml")
    config = load(config_path)
    data = root / "digits.npz"
    stages.prepare(config, "digits", data)
    stages.pretrain(config, "dense", data, 0, root / "ae")
    stages.init(config, root / "ae" / "ae.pt", data, 0, root / "init.npz")
    return root, config


def _fit_args(root: Path, config: Path, out: Path, algorithm: str = "dec") -> list[str]:
    return ["fit", "--config", str(config), "--algorithm", algorithm, "--data",
            str(root / "digits.npz"), "--pretrained", str(root / "ae" / "ae.pt"), "--init",
            str(root / "init.npz"), "--seed", "0", "--out", str(out)]  # fmt: skip


def _error(capsys) -> str:
    return capsys.readouterr().err


# --- degenerate results are errors, not scores ----------------------------------------------------


def _huge_lr(cfg):
    cfg["algorithms"]["dec"] = {"preset": "fast", "lr": 1e6, "max_iter": 200}


def test_a_collapsed_refinement_fails_naming_method_step_and_symptom(inputs, tmp_path, capsys):
    root, _ = inputs
    config = _write_config(tmp_path / "lr.yaml", _huge_lr)
    out = tmp_path / "run"
    assert main(_fit_args(root, config, out)) == 1
    err = _error(capsys)
    assert "dec: degenerate result at the end of training (step " in err
    assert "clusters are non-empty" in err or "embedding's spread" in err
    assert "on_degenerate: warn" in err  # says how to record such runs instead
    assert not (out / "result.npz").exists() and not (out / "model.pt").exists()


def test_with_on_degenerate_warn_the_run_is_kept_marked_and_the_summary_says_so(
    inputs, tmp_path, caplog
):
    root, _ = inputs

    def warn(cfg):
        _huge_lr(cfg)
        cfg["on_degenerate"] = "warn"

    config = _write_config(tmp_path / "warn.yaml", warn)
    key = paths.RunKey("digits", "dense", "dec", 0)
    run = tmp_path / key.fmt(paths.RUN_DIR)
    assert main(_fit_args(root, config, run)) == 0
    assert "degenerate result" in caplog.text and "the run is kept and marked" in caplog.text
    assert str(io.read_npz(run / "result.npz")["degenerate"]) != ""
    metrics = tmp_path / key.fmt(paths.RUN_METRICS)
    args = ["--dataset", "digits", "--ae", "dense", "--algorithm", "dec", "--seed", "0"]
    data = str(root / "digits.npz")
    assert main(["evaluate", "--run", str(run), "--data", data, "--out", str(metrics), *args]) == 0
    scores = io.read_json(metrics)
    assert scores["degenerate"] and scores["n_clusters"] == 10
    cfg = yaml.safe_load(config.read_text())
    cfg["algorithms"] = {"dec": cfg["algorithms"]["dec"]}
    config.write_text(yaml.safe_dump(cfg))
    results = tmp_path / "results"
    cmd = ["summarize", "--config", str(config), "--root", str(tmp_path), "--out", str(results)]
    assert main(cmd) == 0
    table = (results / "summary.md").read_text()
    assert "| dec ⚠ |" in table and "⚠ degenerate runs" in table and "digits/dense/dec: 1" in table


def test_a_table_marks_runs_the_fit_stage_marked_and_old_runs_that_lost_clusters():
    """Runs from before the fit stage checked carry no mark: fewer clusters than k marks them,
    except for a method that finds its own number (DDC's 9 density peaks are its answer)."""
    runs = pd.DataFrame(
        {
            "algorithm": ["dkm", "dkm", "ddc", "dec", "dec"],
            "degenerate": [np.nan, "", np.nan, "the loss grew from 1 to 900", np.nan],
            "n_clusters": [10, 10, 10, 10, np.nan],  # NaN: a ledger row collected before
            "n_clusters_found": [9, 10, 9, 10, 7],
        }
    )
    assert evaluate.degenerate_runs(runs).tolist() == [True, False, False, True, False]


def test_a_collapse_that_stops_changing_is_named_a_collapse_not_convergence():
    """IDEC on a small dataset (issue 22): 99 % of the labels moved at the first target
    update, and the next update's tolerance test ended training on one cluster."""
    history = [
        {"step": 0, "epoch": 0, "delta_label": 0.0, "n_clusters_found": 40},
        {"step": 2, "epoch": 1, "loss": 0.3},
        {"step": 2, "epoch": 1, "delta_label": 0.99, "n_clusters_found": 1},
        {"step": 4, "epoch": 2, "loss": 0.01},
        {"step": 4, "epoch": 2, "delta_label": 0.0, "n_clusters_found": 1},
    ]
    z = np.random.default_rng(0).standard_normal((400, 10))
    result = ClusteringResult(np.zeros(400, np.int64), z, None, history)
    found = degenerate.symptoms(result, 40, z)
    text = degenerate.message("idec", result, found)
    assert "idec: degenerate result at the end of training (step 4)" in text
    assert "only 1 of 40 clusters are non-empty" in text
    assert "since the label update at step 2, which changed 99 % of the labels at once" in text
    assert "a collapse, not convergence" in text


def test_fewer_clusters_than_k_is_the_answer_of_a_method_that_chooses_k():
    """DDC finds its own number of clusters (9 for k = 10 on USPS): not a collapse; one
    cluster still is. The other methods are held to k."""
    z = np.random.default_rng(0).standard_normal((90, 4))
    nine = ClusteringResult(np.arange(90) % 9, z, None, [{"step": 0}])
    one = ClusteringResult(np.zeros(90, np.int64), z, None, [{"step": 0}])
    assert degenerate.symptoms(nine, 10, z, chooses_k=True) == []
    assert degenerate.symptoms(one, 10, z, chooses_k=True) == ["every sample is in one cluster"]
    assert "only 9 of 10 clusters" in degenerate.symptoms(nine, 10, z)[0]
    assert algorithms.get("ddc").chooses_k and not algorithms.get("dec").chooses_k


@pytest.mark.parametrize(
    ("embedding", "loss_end", "symptom"),
    [
        ("blown", 0.1, "a factor of 1e+06"),
        ("point", 0.1, "every sample has the same embedding"),
        ("nan", 0.1, "non-finite"),
        ("ok", 500.0, "the loss grew from 0.1 (first epoch) to 500"),
    ],
)
def test_an_embedding_or_loss_out_of_range_is_degenerate(embedding, loss_end, symptom):
    start = np.random.default_rng(0).standard_normal((30, 4))
    z = {"blown": start * 1e6, "point": np.ones_like(start), "ok": start}.get(embedding)
    if embedding == "nan":
        z = start.copy()
        z[3, 1] = np.nan
    history = [{"step": 1, "loss": 0.1}, {"step": 2, "loss": loss_end}]
    result = ClusteringResult(np.arange(30) % 3, z, None, history)
    found = degenerate.symptoms(result, 3, start)
    assert len(found) == 1 and symptom in found[0], found
    healthy = ClusteringResult(np.arange(30) % 3, start * 3, None, history[:1])
    assert degenerate.symptoms(healthy, 3, start) == []


# --- prepared arrays, models and checkpoints are verified where they are read ---------------------


def test_prepared_arrays_that_do_not_match_their_card_are_refused(inputs, tmp_path, capsys):
    root, config = inputs
    data = tmp_path / "digits.npz"
    stages.prepare(config, "digits", data)
    arrays = io.read_npz(data)
    io.write_npz(data, **{**arrays, "X": np.zeros_like(arrays["X"])})  # X replaced by zeros
    out = tmp_path / "pre"
    cmd = ["pretrain", "--config", str(root / "config.yaml"), "--ae", "dense", "--data",
           str(data), "--seed", "0", "--out", str(out)]  # fmt: skip
    assert main(cmd) == 1
    err = _error(capsys)
    card = data.with_suffix(".json")
    assert f"{data}: array X does not match the sha256 in its card {card}" in err
    assert f"delete {data} and {card} and rerun prepare" in err
    assert not (out / "ae.pt").exists()
    data.unlink()  # doing what the message says recovers
    stages.prepare(config, "digits", data)
    assert main(cmd) == 0 and (out / "ae.pt").is_file()


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_damaged_npz_is_named(inputs, tmp_path, capsys, damage):
    root, config = inputs
    data = tmp_path / "digits.npz"
    stages.prepare(config, "digits", data)
    content = data.read_bytes()
    data.write_bytes(content[: len(content) // 2] if damage == "truncated" else b"")
    cmd = ["init", "--config", str(root / "config.yaml"), "--pretrained",
           str(root / "ae" / "ae.pt"), "--data", str(data), "--seed", "0", "--out",
           str(tmp_path / "init.npz")]  # fmt: skip
    assert main(cmd) == 1
    err = _error(capsys)
    assert f"{data} is damaged or not an .npz written by deepclust" in err
    assert "rerun prepare" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"garbage" * 20, "is damaged or not a deepclust file"),
        ("truncated", "is damaged or truncated"),
        ("pickle", "holds a pickled Python object, posix.system,"),
        ("not-ours", "is not a pretrained autoencoder of this deepclust"),
    ],
)
def test_a_bad_model_file_gives_a_readable_error(inputs, tmp_path, capsys, content, expected):
    root, _ = inputs
    model = tmp_path / "ae.pt"
    if content == "truncated":
        good = (root / "ae" / "ae.pt").read_bytes()
        model.write_bytes(good[: len(good) // 2])
    elif content == "pickle":
        torch.save({"arch": os.system}, model)  # runs code if loaded without weights_only
    elif content == "not-ours":
        torch.save({"weights": torch.zeros(3)}, model)
    else:
        model.write_bytes(content)
    cmd = ["init", "--config", str(root / "config.yaml"), "--pretrained", str(model),
           "--data", str(root / "digits.npz"), "--seed", "0", "--out",
           str(tmp_path / "init.npz")]  # fmt: skip
    assert main(cmd) == 1
    err = _error(capsys)
    assert str(model) in err and expected in err, err
    assert "rerun the pretrain stage" in err
    assert "weights_only" not in err and "Traceback" not in err
    assert not (tmp_path / "init.npz").exists() and model.exists()


def _interrupted_checkpoint(inputs, out: Path, monkeypatch) -> None:
    """Run fit until a SIGTERM-like interruption at step 5, leaving a checkpoint in ``out``."""
    due, calls = Checkpointer.due, [0]

    def fake_due(self):
        calls[0] += 1
        self.terminate = self.terminate or calls[0] == 5
        return due(self)

    with monkeypatch.context() as m:
        m.setattr(Checkpointer, "due", fake_due)
        with pytest.raises(Terminated):
            _fit_in_process(inputs, out)


def _fit_in_process(inputs, out: Path, config: dict | None = None) -> None:
    root, default = inputs
    stages.fit(config or default, "dec", root / "ae" / "ae.pt", root / "init.npz",
               root / "digits.npz", 0, out)  # fmt: skip


@pytest.mark.parametrize("damage", [b"", b"\x00" * 100])
def test_an_unreadable_checkpoint_is_set_aside_and_training_restarts(
    inputs, tmp_path, damage, monkeypatch
):
    _fit_in_process(inputs, tmp_path / "ref")
    out = tmp_path / "run"
    out.mkdir()
    (out / stages.CHECKPOINT).write_bytes(damage)  # what a power loss can leave
    with pytest.warns(UserWarning, match=rf"checkpoint .*{stages.CHECKPOINT} cannot be read"):
        _fit_in_process(inputs, out)
    aside = list(out.glob(f"{stages.CHECKPOINT}.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damage  # renamed, not deleted
    for name in ("labels", "embedding", "centers"):
        assert np.array_equal(io.read_npz(out / "result.npz")[name],
                              io.read_npz(tmp_path / "ref" / "result.npz")[name])  # fmt: skip


def test_a_failed_periodic_checkpoint_warns_and_training_goes_on(inputs, tmp_path, monkeypatch):
    _, config = inputs
    _fit_in_process(inputs, tmp_path / "ref")
    save = io.save_torch

    def full_disk(path, obj):
        if Path(path).name == stages.CHECKPOINT:
            raise io.WriteError(errno.ENOSPC, f"could not write {path}: the disk is full")
        save(path, obj)

    monkeypatch.setattr(io, "save_torch", full_disk)
    with pytest.warns(UserWarning, match="could not write checkpoint .*; training goes on"):
        _fit_in_process(inputs, tmp_path / "run", {**config, "checkpoint_every_s": 0})
    reference = io.read_npz(tmp_path / "ref" / "result.npz")
    assert np.array_equal(io.read_npz(tmp_path / "run" / "result.npz")["labels"],
                          reference["labels"])  # fmt: skip


def test_runtime_is_the_sum_over_resumes(inputs, tmp_path, monkeypatch):
    out = tmp_path / "run"
    _interrupted_checkpoint(inputs, out, monkeypatch)
    saved = io.load_torch(out / stages.CHECKPOINT)
    assert 0 < saved["elapsed_s"] < 1000
    io.save_torch(out / stages.CHECKPOINT, {**saved, "elapsed_s": 1000.0})  # an earlier hour
    _fit_in_process(inputs, out)
    assert 1000 < float(io.read_npz(out / "result.npz")["runtime_s"]) < 1100


def test_a_resume_under_another_thread_count_warns(inputs, tmp_path, monkeypatch):
    out = tmp_path / "run"
    _interrupted_checkpoint(inputs, out, monkeypatch)
    saved = io.load_torch(out / stages.CHECKPOINT)
    io.save_torch(out / stages.CHECKPOINT, {**saved, "threads": saved["threads"] + 3})
    with pytest.warns(UserWarning, match=rf"written with {saved['threads'] + 3} torch threads"):
        _fit_in_process(inputs, out)
    assert int(io.read_npz(out / "result.npz")["threads"]) == torch.get_num_threads()


# --- writes: fsync, a full disk, nothing good lost ------------------------------------------------


def test_atomic_writes_fsync_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append(("fsync", os.readlink(
        f"/proc/self/fd/{fd}"))) or real_fsync(fd))  # fmt: skip
    monkeypatch.setattr(os, "replace", lambda a, b: events.append(("replace", str(b)))
                        or real_replace(a, b))  # fmt: skip
    target = tmp_path / "x.json"
    io.write_json(target, {"a": 1})
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"]
    assert events[0][1].startswith(str(tmp_path / ".x.json.")) and events[1][1] == str(target)
    assert events[2][1] == str(tmp_path)


def test_a_full_disk_names_the_file_and_keeps_the_previous_one(inputs, tmp_path):
    """A real short write: the stage runs under a file-size limit below the model's size."""
    root, _ = inputs
    out = tmp_path / "pre"
    out.mkdir()
    previous = b"the previous, good ae.pt"
    (out / "ae.pt").write_bytes(previous)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    cmd = [
        sys.executable,
        "-m",
        "deepclust",
        "pretrain",
        "--config",
        str(root / "config.yaml"),
        "--ae",
        "dense",
        "--data",
        str(root / "digits.npz"),
        "--seed",
        "0",
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"could not write {out / 'ae.pt'}: the disk or quota is full" in proc.stderr
    assert "free some space and rerun" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "ae.pt").read_bytes() == previous
    assert not list(out.glob(".ae.pt.*.tmp"))


# --- configuration and command line ---------------------------------------------------------------


def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("datasets: [digits\nseeds: [0]\n")
    cmd = ["prepare", "--config", str(bad), "--dataset", "digits", "--out", str(tmp_path / "x")]
    assert main(cmd) == 1
    err = _error(capsys)
    assert f"{bad}: YAML syntax error at line 2, column 6" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("option", "value", "section"),
    [("--algorithm", "idec", "algorithms"), ("--ae", "conv", "autoencoders")],
)
def test_a_name_not_in_the_config_is_named_with_the_known_ones(
    inputs, tmp_path, capsys, option, value, section
):
    root, _ = inputs
    if option == "--algorithm":
        cmd = _fit_args(root, root / "config.yaml", tmp_path / "run", algorithm=value)
    else:
        cmd = ["pretrain", "--config", str(root / "config.yaml"), "--ae", value, "--data",
               str(root / "digits.npz"), "--seed", "0", "--out", str(tmp_path / "pre")]  # fmt: skip
    assert main(cmd) == 1
    err = _error(capsys)
    assert f"{option} {value}: the config has no {section}.{value}" in err, err
    assert "KeyError" not in err


def test_shell_injection_through_config_names_is_refused(tmp_path, capsys):
    config = _write_config(tmp_path / "c.yaml", lambda cfg: cfg["autoencoders"].update(
        {"x; touch pwned": {"hidden": [4]}}))  # fmt: skip
    cmd = ["prepare", "--config", str(config), "--dataset", "digits", "--out", str(tmp_path / "x")]
    assert main(cmd) == 1
    assert "autoencoders" in _error(capsys) and not (tmp_path / "pwned").exists()


# --- one writer per output folder -----------------------------------------------------------------


def test_a_stage_refuses_a_folder_that_a_live_stage_holds(inputs, tmp_path, capsys):
    root, _ = inputs
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out.mkdir()
        lock = {"pid": holder.pid, "host": socket.gethostname(), "started": time.time(),
                "command": "deepclust fit ..."}  # fmt: skip
        (out / ".lock").write_text(json.dumps(lock))
        assert main(_fit_args(root, root / "config.yaml", out)) == 1
        err = _error(capsys)
        assert f"{out} is being written by another deepclust stage (PID {holder.pid} on " in err
        assert f"delete {out / '.lock'}" in err
        assert not (out / "result.npz").exists() and (out / ".lock").exists()
    finally:
        holder.kill()
        holder.wait()
    with pytest.warns(UserWarning, match=f"stale lock .*process {holder.pid} no longer runs"):
        assert main(_fit_args(root, root / "config.yaml", out)) == 0
    assert (out / "result.npz").is_file() and not (out / ".lock").exists()


def test_a_lock_from_another_host_is_stale_only_when_its_heartbeat_stopped(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    lock = out / ".lock"
    lock.write_text(json.dumps({"pid": 1, "host": "node-elsewhere", "started": 0}))
    with (
        pytest.raises(outputs.Busy, match="PID 1 on node-elsewhere"),
        outputs.hold(out, folder=True),
    ):
        pass  # fmt: skip
    old = time.time() - outputs.STALE_S - 1
    os.utime(lock, (old, old))
    with pytest.warns(UserWarning, match="stopped refreshing it"), outputs.hold(out, folder=True):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


# --- threads --------------------------------------------------------------------------------------


def test_the_thread_budget_is_the_config_or_the_option_never_the_environment(monkeypatch):
    config = {"threads": {"fit": 3}}
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # Snakemake sets it, DVC does not
    assert thread_budget("fit", config) == 3 and thread_budget("fit", config, 5) == 5
    with pytest.raises(ValueError, match="--threads must be at least 1, got 0"):
        thread_budget("fit", config, 0)


def test_every_training_rule_declares_its_thread_budget_and_leaves_it_to_the_stage(
    tmp_path, project_env
):
    def threads(cfg):
        cfg["threads"] = {"prepare": 1, "pretrain": 2, "init": 1, "fit": 2}

    config = _write_config(tmp_path / "config.yaml", threads)
    cmd = ["snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile",
           str(config), "-n", "-p", "--cores", "2"]  # fmt: skip
    out = subprocess.run(cmd, env=project_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    jobs = out.stdout.split("\nrule ")[1:]
    for stage, n in [("prepare", 1), ("pretrain", 2), ("init", 1), ("fit", 2)]:
        found = [job for job in jobs if job.startswith(f"{stage}:")]
        assert found and all(f"threads: {n}" in job or n == 1 for job in found), (stage, found)
        # the command is the one dvc.yaml runs: the stage reads its budget from the config
        assert all(f"deepclust {stage} " in job and "--threads" not in job for job in found)


# --- under Snakemake: a failed rerun loses no expensive artifact; a killed run recovers -----------


def _snakemake(workdir: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    cmd = ["snakemake", *args, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores",
           "1", "--configfile", str(workdir / "config.yaml")]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def test_kept_outputs_are_restored_only_for_the_same_fingerprint(tmp_path):
    (tmp_path / "ae.pt").write_bytes(b"model of run 1")
    outputs.keep(tmp_path, ["ae.pt"], "run 1")
    (tmp_path / "ae.pt").unlink()  # as Snakemake does before a rerun
    assert not outputs.restore(tmp_path, ["ae.pt"], "run 2")  # other settings: train again
    assert not (tmp_path / "ae.pt").exists()
    assert outputs.restore(tmp_path, ["ae.pt"], "run 1")
    assert (tmp_path / "ae.pt").read_bytes() == b"model of run 1"
    with io.atomic_path(tmp_path / "ae.pt") as tmp:  # as every stage writes: a new inode
        tmp.write_bytes(b"model of run 2")
    assert (tmp_path / ".kept" / "ae.pt").read_bytes() == b"model of run 1"
    outputs.keep(tmp_path, ["ae.pt"], "run 2")
    assert (tmp_path / ".kept" / "ae.pt").read_bytes() == b"model of run 2"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".kept", "ae.pt"]


@pytest.mark.slow
def test_a_damaged_dataset_under_snakemake_loses_no_pretrained_model(tmp_path, project_env):
    _write_config(tmp_path / "config.yaml")
    env = {**project_env, "OMP_NUM_THREADS": "1"}
    key = paths.RunKey("digits", "dense", "dec", 0)
    model, data = tmp_path / key.fmt(paths.AE_MODEL), tmp_path / key.fmt(paths.DATA)
    first = _snakemake(tmp_path, env, key.fmt(paths.AE_MODEL))
    assert first.returncode == 0, first.stderr[-3000:]
    good = model.read_bytes()

    content = data.read_bytes()
    data.write_bytes(content[: len(content) // 2])  # truncated: newer than ae.pt, so reruns
    failed = _snakemake(tmp_path, env, key.fmt(paths.AE_MODEL))
    assert failed.returncode != 0
    log = (tmp_path / "logs/pretrain/digits/dense/seed-0.log").read_text()
    assert "data/processed/digits.npz is damaged" in log and "rerun prepare" in log
    assert "Traceback" not in log
    # Snakemake deleted the declared output before the job; the stage kept it
    assert not model.exists() and (model.parent / ".kept" / "ae.pt").read_bytes() == good

    data.unlink()  # what the message says
    data.with_suffix(".json").unlink()
    rerun = _snakemake(tmp_path, env, key.fmt(paths.AE_MODEL))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (
        "restored ae.pt, history.csv"
        in (tmp_path / "logs/pretrain/digits/dense/seed-0.log").read_text()
    )
    assert model.read_bytes() == good  # the same model, not trained again
    assert "Nothing to be done" in _snakemake(tmp_path, env, "-n", key.fmt(paths.AE_MODEL)).stdout


@pytest.mark.slow
def test_after_snakemake_is_killed_the_readme_commands_recover(tmp_path, project_env):
    def slow(cfg):
        cfg["autoencoders"]["dense"]["epochs"] = 400  # killed mid-pretraining
        cfg["checkpoint_every_s"] = 0.1

    _write_config(tmp_path / "config.yaml", slow)
    env = {**project_env, "OMP_NUM_THREADS": "1"}
    target = paths.INIT.format(dataset="digits", ae="dense", seed=0)
    cmd = ["snakemake", target, "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
           "--cores", "1", "--configfile", str(tmp_path / "config.yaml")]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    checkpoint = tmp_path / "data/pretrained/digits/dense/seed-0" / stages.CHECKPOINT
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "snakemake ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, as a node failure would
    proc.wait()

    def run(*args):
        return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip

    refused = run()
    assert refused.returncode != 0 and "--unlock" in refused.stderr
    assert run("--unlock").returncode == 0
    recovered = run("--rerun-incomplete")
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    log = (tmp_path / "logs/pretrain/digits/dense/seed-0.log").read_text()
    assert "resuming from checkpoint" in log and "taking over the stale lock" in log
    assert (tmp_path / target).is_file()
