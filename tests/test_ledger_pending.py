"""A campaign resumed in a fresh checkout: which runs its committed ledger still lacks."""

from __future__ import annotations

import pandas as pd

from deepclust import config as config_module
from deepclust import ledger, paths
from deepclust.cli import main

CONFIG = {
    "datasets": ["digits", "usps"],
    "seeds": [0, 1],
    "autoencoders": {"dense": {"hidden": [32], "embedding_dim": 4, "epochs": 3}},
    "init": {"n_init": 2},
    "algorithms": {"aekm": {}, "dec": {"preset": "fast"}},
}


def _ledger(path, keys, config=CONFIG):
    rows = [
        {**vars(key), "acc": 0.5, "settings_sha256": ledger.settings_digest(config, key)}
        for key in keys
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_run_in_the_ledger_with_the_same_settings_is_not_pending(tmp_path):
    every = list(paths.runs(CONFIG))
    assert ledger.pending(CONFIG, tmp_path / "none.csv") == every  # no ledger yet: all of them
    done = [k for k in every if k.seed == 0]
    book = _ledger(tmp_path / "campaign.csv", done)
    assert ledger.pending(CONFIG, book) == [k for k in every if k.seed == 1]
    assert ledger.pending(CONFIG, book, "usps", 0) == []
    assert ledger.pending(CONFIG, book, "usps", 1) == [
        paths.RunKey("usps", "dense", "aekm", 1),
        paths.RunKey("usps", "dense", "dec", 1),
    ]


def test_a_changed_setting_makes_only_the_runs_it_applies_to_pending(tmp_path):
    book = _ledger(tmp_path / "campaign.csv", list(paths.runs(CONFIG)))
    assert ledger.pending(CONFIG, book) == []
    dec_on_usps = {**CONFIG, "algorithms": {"aekm": {}, "dec": {"preset": "fast",
                   "by_dataset": {"usps": {"tol": 0.01}}}}}  # fmt: skip
    assert ledger.pending(dec_on_usps, book) == [
        paths.RunKey("usps", "dense", "dec", 0),
        paths.RunKey("usps", "dense", "dec", 1),
    ]
    other_init = {**CONFIG, "init": {"n_init": 3}}  # every run starts from the k-means
    assert len(ledger.pending(other_init, book)) == 8


def test_pending_prints_the_snakemake_targets(tmp_path, capsys):
    import yaml

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    # collect digests the config as the CLI loads it (validated, defaults filled in)
    loaded = config_module.load(config)
    book = _ledger(tmp_path / "campaign.csv", [paths.RunKey("digits", "dense", "aekm", 0)], loaded)
    args = ["pending", "--config", str(config), "--ledger", str(book), "--dataset", "digits"]
    assert main([*args, "--seed", "0"]) == 0
    assert capsys.readouterr().out.split() == ["data/runs/digits/dense/dec/seed-0/metrics.json"]
