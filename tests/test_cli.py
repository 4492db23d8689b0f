"""The CLI: each stage on tiny data, clear errors, nothing half-written after a failure."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml

from deepclust import io, metrics
from deepclust.cli import main
from deepclust.workflow import STAGES
from tests.conftest import DIGITS_MIN_ACC, DIGITS_MIN_NMI, TINY_CONFIG


@pytest.fixture
def tiny_config(tmp_path):
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _run_stages(tmp_path, config, seed: int = 0) -> dict:
    data = tmp_path / "data.npz"
    pre = tmp_path / f"pre-{seed}"
    init = tmp_path / f"init-{seed}.npz"
    run = tmp_path / f"run-{seed}"
    assert (
        main(["prepare", "--config", str(config), "--dataset", "digits", "--out", str(data)]) == 0
    )
    common = ["--config", str(config), "--data", str(data), "--seed", str(seed)]
    assert main(["pretrain", *common, "--ae", "dense", "--out", str(pre)]) == 0
    assert main(["init", *common, "--pretrained", str(pre / "ae.pt"), "--out", str(init)]) == 0
    fit = ["fit", *common, "--algorithm", "dec", "--pretrained", str(pre / "ae.pt")]
    assert main([*fit, "--init", str(init), "--out", str(run)]) == 0
    metrics = tmp_path / f"metrics-{seed}.json"
    key = ["--dataset", "digits", "--ae", "dense", "--algorithm", "dec", "--seed", str(seed)]
    assert (
        main(["evaluate", "--run", str(run), "--data", str(data), "--out", str(metrics), *key]) == 0
    )
    return io.read_json(metrics)


def test_same_config_and_seed_give_identical_results_on_cpu(tmp_path, tiny_config):
    first = _run_stages(tmp_path / "a", tiny_config)
    second = _run_stages(tmp_path / "b", tiny_config)
    a = io.read_npz(tmp_path / "a" / "run-0" / "result.npz")
    b = io.read_npz(tmp_path / "b" / "run-0" / "result.npz")
    # the fit's own run time, measured (not part of the identical result)
    assert first.pop("runtime_s") == float(a["runtime_s"]) > 0
    assert second.pop("runtime_s") == float(b["runtime_s"]) > 0
    assert first == second
    assert np.array_equal(a["embedding"], b["embedding"])
    y = io.read_npz(tmp_path / "a" / "data.npz")["y"]
    assert first["acc"] == pytest.approx(metrics.acc(y, a["labels"]))  # the run's own labels
    assert first["acc"] > DIGITS_MIN_ACC and first["nmi"] > DIGITS_MIN_NMI  # measured 0.37, 0.28
    assert first["n_clusters_found"] == len(np.unique(a["labels"])) == 10


def test_unknown_dataset_lists_the_known_ones(tmp_path, tiny_config, capsys):
    out = tmp_path / "x.npz"
    assert (
        main(["prepare", "--config", str(tiny_config), "--dataset", "mnits", "--out", str(out)])
        == 1
    )
    assert "unknown dataset 'mnits'; known: digits" in capsys.readouterr().err
    assert not out.exists()


def test_bad_config_key_is_named(tmp_path, capsys):
    cfg = yaml.safe_load(TINY_CONFIG.read_text())
    cfg["algorithms"]["dec"]["update_intervall"] = 3
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "x.npz"
    assert main(["prepare", "--config", str(path), "--dataset", "digits", "--out", str(out)]) == 1
    assert "algorithms.dec: unknown key 'update_intervall'" in capsys.readouterr().err


def test_failed_fit_leaves_no_partial_run(tmp_path, tiny_config, capsys):
    _run_stages(tmp_path, tiny_config)
    cfg = yaml.safe_load(tiny_config.read_text())
    cfg["algorithms"]["dec"]["lr"] = 1e30  # diverges to a non-finite loss
    bad = tmp_path / "diverging.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    run = tmp_path / "diverged"
    args = ["fit", "--config", str(bad), "--algorithm", "dec", "--data", str(tmp_path / "data.npz")]
    args += [
        "--pretrained",
        str(tmp_path / "pre-0" / "ae.pt"),
        "--init",
        str(tmp_path / "init-0.npz"),
    ]
    assert main([*args, "--seed", "0", "--out", str(run)]) == 1
    assert "non-finite loss at step" in capsys.readouterr().err
    assert not run.exists() or not any(run.iterdir())


def test_a_missing_option_or_a_bad_value_is_named(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["fit", "--algorithm", "dec", "--seed", "0", "--data", "x.npz"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "the following arguments are required: --pretrained, --init, --out" in err
    with pytest.raises(SystemExit):
        main(["init", "--pretrained", "a", "--data", "b", "--out", "c", "--seed", "zero"])
    assert "argument --seed: invalid int value: 'zero'" in capsys.readouterr().err


@pytest.mark.parametrize("name", STAGES)
def test_a_stages_help_lists_each_option_with_its_help(name, capsys):
    with pytest.raises(SystemExit):
        main([STAGES[name].subcommand, "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    assert STAGES[name].help in shown
    for option in STAGES[name].options:
        assert f"--{option.name} {option.name.upper()}" in shown
        assert " ".join((option.help or "").split()) in shown, option.name


def test_a_source_checkout_that_was_never_installed_knows_its_version(tmp_path):
    """``PYTHONPATH=src`` without ``pip install`` (a GPU node's own Python): the version comes
    from pyproject.toml instead of a PackageNotFoundError at import."""
    root = Path(__file__).resolve().parents[1]
    shutil.copytree(root / "src" / "deepclust", tmp_path / "src" / "deepclust")
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    code = f"import sys; sys.path.insert(0, {str(tmp_path / 'src')!r}); import deepclust; "
    code += "print(deepclust.__version__)"
    run = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (
        run.stdout.strip()
        == tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    )
