"""The seed papers' own methods end to end through Snakemake on digits, with tiny settings:
DynAE on an ACAI-pretrained autoencoder, DAMIC, and DCEC with augmentation on a
convolutional autoencoder (its own config: every autoencoder of a config is paired with every
algorithm, and DCEC needs a convolutional one)."""

import pandas as pd
import pytest
import yaml

from deepclust import io, paths
from tests.conftest import DIGITS_MIN_ACC, DIGITS_MIN_NMI, run_snakemake

# These settings are too tiny to keep all ten clusters (DCEC ends with 8): the runs are kept
# and marked rather than failed, since this test is about the wiring (degenerate.py).
COMMON = {"datasets": ["digits"], "seeds": [0], "device": "cpu", "progress": False,
          "init": {"n_init": 2}, "on_degenerate": "warn"}  # fmt: skip

CONFIGS = {
    "dense": {
        "autoencoders": {
            "acai": {
                "hidden": [32],
                "embedding_dim": 5,
                "epochs": 2,
                "pretraining": "acai",
                "augment": True,
            },
        },
        "algorithms": {
            "dynae": {"preset": "fast", "max_iter": 20, "update_interval": 5},
            "damic": {
                "preset": "fast",
                "hidden": [16],
                "classifier_hidden": [16],
                "pretrain_epochs": 1,
                "epochs": 1,
            },
        },
    },
    "conv": {
        "autoencoders": {
            "conv": {
                "kind": "conv",
                "channels": [4, 8],
                "embedding_dim": 5,
                "epochs": 2,
                "augment": True,
            },
        },
        "algorithms": {
            "aekm": {},
            "dcec": {"preset": "fast", "max_iter": 20, "update_interval": 5, "augment": True},
        },
    },
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_new_methods_run_end_to_end_and_are_evaluated(name, tmp_path, project_env):
    cfg = {**COMMON, **CONFIGS[name]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    run_snakemake(
        tmp_path, project_env, paths.SUMMARY_CSV, "--configfile", str(tmp_path / "config.yaml")
    )
    summary = pd.read_csv(tmp_path / paths.SUMMARY_CSV)
    assert sorted(summary["algorithm"]) == sorted(cfg["algorithms"])
    assert (summary["acc_mean"] > DIGITS_MIN_ACC).all(), summary  # better than degenerate
    assert (summary["nmi_mean"] > DIGITS_MIN_NMI).all(), summary
    (ae,) = cfg["autoencoders"]
    key = paths.RunKey("digits", ae, "aekm", 0)
    model = io.load_torch(tmp_path / key.fmt(paths.AE_MODEL))
    assert model["arch"]["image_shape"] == (1, 8, 8)
    history = pd.read_csv(tmp_path / key.fmt(paths.AE_HISTORY))
    if name == "dense":  # ACAI's terms are logged
        assert {"reconstruction", "adversarial", "critic"} <= set(history.columns)
