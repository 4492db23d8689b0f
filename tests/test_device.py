"""Device truth: a stage given a GPU never trains on the CPU unnoticed, and every run records
where it ran (device, its name, torch and CUDA versions, host, Slurm job)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
import torch
import yaml

from deepclust import io, provenance
from deepclust.cli import main
from deepclust.report import where_table
from deepclust.seeding import resolve_device
from tests.conftest import TINY_CONFIG

SLURM_VARIABLES = ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_JOB_ID")


@pytest.fixture
def no_gpu_given(monkeypatch):
    for name in (*SLURM_VARIABLES, "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return monkeypatch


@pytest.fixture
def slurm_gpu_job(no_gpu_given):
    """The environment of a Slurm job given one GPU (as `sbatch --gpus=1` sets it)."""
    no_gpu_given.setenv("SLURM_JOB_ID", "4242")
    no_gpu_given.setenv("SLURM_JOB_GPUS", "0")
    no_gpu_given.setenv("SLURM_GPUS_ON_NODE", "1")
    no_gpu_given.setenv("CUDA_VISIBLE_DEVICES", "0")
    return no_gpu_given


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, None),
        ({"CUDA_VISIBLE_DEVICES": ""}, None),  # hides every GPU
        ({"CUDA_VISIBLE_DEVICES": "-1"}, None),
        ({"SLURM_GPUS_ON_NODE": "0"}, None),
        ({"SLURM_GPUS_ON_NODE": "2"}, "SLURM_GPUS_ON_NODE=2"),
        ({"CUDA_VISIBLE_DEVICES": "1,3"}, "CUDA_VISIBLE_DEVICES=1,3"),
        ({"CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_GPUS": "5"}, "SLURM_JOB_GPUS=5"),
    ],
)
def test_the_gpus_a_job_was_given_come_from_slurm_or_cuda_visible_devices(
    no_gpu_given, variables, expected
):
    for name, value in variables.items():
        no_gpu_given.setenv(name, value)
    assert provenance.gpus_given() == expected


def test_auto_without_a_gpu_given_runs_on_the_cpu_and_cpu_is_always_the_cpu(no_gpu_given):
    assert resolve_device("auto") == torch.device("cpu")
    no_gpu_given.setenv("SLURM_JOB_GPUS", "0")
    assert resolve_device("cpu") == torch.device("cpu")  # the user's explicit choice


def test_a_gpu_job_whose_torch_is_the_cpu_build_fails_naming_why(slurm_gpu_job):
    slurm_gpu_job.setattr(torch.version, "cuda", None)
    with pytest.raises(RuntimeError) as err:
        resolve_device("auto")
    message = str(err.value)
    assert "a GPU was given (SLURM_JOB_GPUS=0)" in message
    assert "CPU build" in message and "allow_cpu_fallback: true" in message
    assert "scripts/install.sh --cuda" in message
    with pytest.raises(RuntimeError, match="device 'cuda' was requested"):
        resolve_device("cuda")


def test_a_driver_that_torch_cannot_use_is_named(slurm_gpu_job):
    def init():
        raise RuntimeError("The NVIDIA driver on your system is too old (found version 10010).")

    slurm_gpu_job.setattr(torch.version, "cuda", "12.8")
    slurm_gpu_job.setattr(torch.cuda, "init", init)
    with pytest.raises(RuntimeError, match=r"CUDA 12\.8 build, The NVIDIA driver .* too old"):
        resolve_device("auto")


def test_cpu_fallback_is_allowed_only_explicitly_and_warns(slurm_gpu_job, caplog):
    with caplog.at_level(logging.WARNING, logger="deepclust"):
        assert resolve_device("auto", allow_cpu_fallback=True) == torch.device("cpu")
        assert resolve_device("cuda", allow_cpu_fallback=True) == torch.device("cpu")
    assert caplog.text.count("running on the CPU (allow_cpu_fallback: true)") == 2


def _write_config(tmp_path, **changes):
    cfg = yaml.safe_load(TINY_CONFIG.read_text()) | {"device": "auto", **changes}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_a_gpu_job_without_a_usable_gpu_fails_before_writing_anything(
    slurm_gpu_job, tmp_path, capsys
):
    config = _write_config(tmp_path)
    data = tmp_path / "data.npz"
    assert (
        main(["prepare", "--config", str(config), "--dataset", "digits", "--out", str(data)]) == 0
    )
    out = tmp_path / "pre"
    common = ["--config", str(config), "--data", str(data), "--seed", "0", "--out", str(out)]
    assert main(["pretrain", "--ae", "dense", *common]) == 1
    assert "deepclust pretrain: error: a GPU was given" in capsys.readouterr().err
    assert not (out / "ae.pt").exists() and not (out / ".checkpoint.pt").exists()


def test_each_stage_records_where_it_ran(slurm_gpu_job, tmp_path, caplog):
    """With the fallback allowed, the stages run and record the fallback: the log, ae.pt,
    model.pt, result.npz, metrics.json and the report's table."""
    config = _write_config(tmp_path, allow_cpu_fallback=True)
    data, pre, init, run = (tmp_path / n for n in ("data.npz", "pre", "init.npz", "run"))
    metrics = tmp_path / "metrics.json"
    common = ["--config", str(config), "--data", str(data), "--seed", "0"]
    key = ["--dataset", "digits", "--ae", "dense", "--algorithm", "dec", "--seed", "0"]
    fit_io = ["--init", str(init), "--out", str(run)]
    commands = [
        ["prepare", "--config", str(config), "--dataset", "digits", "--out", str(data)],
        ["pretrain", *common, "--ae", "dense", "--out", str(pre)],
        ["init", *common, "--pretrained", str(pre / "ae.pt"), "--out", str(init)],
        ["fit", *common, "--algorithm", "dec", "--pretrained", str(pre / "ae.pt"), *fit_io],
        ["evaluate", "--run", str(run), "--data", str(data), "--out", str(metrics), *key],
    ]
    with caplog.at_level(logging.INFO, logger="deepclust"):
        for command in commands:
            assert main(command) == 0, command
    expected = {
        "device": "cpu",
        "torch": str(torch.__version__),
        "cuda": torch.version.cuda,
        "slurm_job_id": "4242",
        "gpus_given": "SLURM_JOB_GPUS=0",
    }
    for record in (
        io.load_torch(pre / "ae.pt")["run"],
        io.load_torch(run / "model.pt")["run"],
        io.read_json(metrics),
    ):
        assert {k: record[k] for k in expected} == expected
        assert record["host"] and record["device_name"]
    for stage in ("prepare", "pretrain", "init", "fit", "evaluate"):
        assert f"{stage}: host " in caplog.text and "Slurm job 4242" in caplog.text
    assert "fit on device cpu" in caplog.text and "GPUs given SLURM_JOB_GPUS=0" in caplog.text

    runs = pd.DataFrame([io.read_json(metrics), {**io.read_json(metrics), "slurm_job_id": "7"}])
    table = where_table(runs)
    assert "| cpu ⚠ GPU unused |" in table and "| SLURM_JOB_GPUS=0 | 2 |" in table
    assert table.rstrip().endswith("| 4242, 7 |")


def test_runs_from_before_the_record_show_no_where_table():
    assert where_table(pd.DataFrame({"acc": [0.5]})) == ""
