"""The stage table (deepclust.workflow): dvc.yaml is its rendering, and each stage depends on
the code it runs, for DVC and Snakemake alike."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from deepclust import cli, codedeps, config, paths, workflow
from deepclust.workflow import STAGES
from tests.conftest import ROOT

PATTERNS = {v for k, v in vars(paths).items() if k.isupper() and isinstance(v, str)}
# DEC, IDEC and DCEC (which import dec.py) and AE+k-means (which does not), on one config
FOUR = {
    "datasets": ["mnist_test"],
    "seeds": [0, 1],
    "autoencoders": {"conv": {"kind": "conv"}},
    "algorithms": {"aekm": {}, "dec": {}, "idec": {}, "dcec": {}},
}
JOB = {"dataset": "digits", "ae": "dense", "algorithm": "dec", "seed": "3"}  # one job's keys


def test_the_committed_dvc_yaml_is_the_rendering_of_the_stage_table():
    rendered = workflow.dvc_yaml(config.load(ROOT / "config.yaml"), ROOT)
    assert (ROOT / "dvc.yaml").read_text() == rendered, (
        "dvc.yaml is stale: run `deepclust dvc-yaml` and commit it"
    )


def test_every_input_output_and_folder_of_a_stage_is_a_paths_pattern():
    for stage in STAGES.values():
        assert set(stage.patterns().values()) <= PATTERNS, stage.name
        fields = {o.field for o in stage.options} - {None}
        assert fields <= {*stage.keys, *stage.patterns()}, stage.name


@pytest.mark.parametrize("name", STAGES)
def test_each_stages_command_is_what_its_generated_subcommand_parses(name):
    """The runners' command line and the CLI's parser come from one option list: each option
    on the line is declared, each required one is there, and each value arrives typed."""
    stage = STAGES[name]
    job = {k: JOB[k] for k in stage.keys}
    words = shlex.split(workflow.command(stage, job))
    assert words[:2] == ["deepclust", stage.subcommand]
    parser = cli._parser()
    args = parser.parse_args(words[1:])  # exits on an undeclared or a missing required option
    assert args.handler is getattr(cli, stage.handler)
    given = dict(zip(words[2::2], words[3::2], strict=True))
    declared = {f"--{o.name}": o for o in stage.options}
    assert set(given) <= set(declared)
    for flag, option in declared.items():
        value = getattr(args, option.name)
        if option.field is None:  # for people: the runners leave it at its default
            assert flag not in given and value == option.default, flag
        elif option.field in stage.keys:
            assert value == (3 if option.field == "seed" else job[option.field]), flag
        else:
            assert value == Path(stage.patterns()[option.field].format(**job)), flag


def _dvc_stages(cfg: dict) -> dict:
    return yaml.safe_load(workflow.dvc_yaml(cfg, ROOT))["stages"]


def test_editing_dec_py_reruns_the_fits_that_import_it_under_dvc_and_snakemake():
    dec = "src/deepclust/algorithms/dec.py"
    stages = _dvc_stages(FOUR)
    for algorithm, imports_dec in [("dec", True), ("idec", True), ("dcec", True), ("aekm", False)]:
        assert (dec in stages[f"fit-{algorithm}"]["deps"]) is imports_dec, algorithm
        # the Snakemake rule's `code` input is this list
        files = workflow.code_files(STAGES["fit"], algorithm)
        assert (ROOT / dec in files) is imports_dec, algorithm
    # only fit runs an algorithm: no other stage depends on dec.py
    others = [name for name, s in stages.items() if dec in s["deps"]]
    assert sorted(others) == ["fit-dcec", "fit-dec", "fit-idec"]


def test_each_stage_depends_on_what_its_command_imports_and_not_on_the_rest():
    def files(name, algorithm=None):
        code = workflow.code_files(STAGES[name], algorithm)
        return {p.relative_to(ROOT / "src" / "deepclust").as_posix() for p in code}

    fit = files("fit", "dcn")
    assert {"cli.py", "stages.py", "training.py", "io.py", "algorithms/dcn.py"} <= fit
    assert "algorithms/dec.py" not in fit and "evaluate.py" not in fit and "plots.py" not in fit
    assert "estimators.py" not in fit  # loaded by `deepclust.DEC`, never by a stage
    assert {"evaluate.py", "metrics.py", "cli.py"} <= files("evaluate")
    assert not {"stages.py", "training.py", "plots.py"} & files("evaluate")
    assert {"report.py", "plots.py"} <= files("plot_run")
    # each stage's own module is there: the entry points the table names are real
    for stage in STAGES.values():
        own = {m.rpartition(".")[2] + ".py" for m in stage.code}
        assert own <= files(stage.name, "dec"), stage.name


def test_an_import_inside_a_function_counts_and_a_relative_one_resolves(tmp_path, monkeypatch):
    package = tmp_path / "plugpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("X = 1\n")
    (package / "method.py").write_text(
        "def fit():\n    from .helpers import X\n    from deepclust import metrics\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {p.name for p in codedeps.closure(("plugpkg.method",))}
    assert {"method.py", "helpers.py", "metrics.py"} <= found
    assert "stages.py" not in found


def test_a_command_names_neither_a_config_file_nor_a_thread_count():
    # both come from the config the runner gives the stage, so both runners' lines are equal
    for stage in STAGES.values():
        line = workflow.command(stage, {key: f"<{key}>" for key in stage.keys})
        assert line.startswith(f"deepclust {stage.name.replace('_', '-')} ")
        assert "--threads" not in line and "--config" not in line


def test_a_path_with_a_space_is_quoted_for_the_shell():
    line = workflow.command(STAGES["prepare"], {"dataset": "my data"})
    assert "--dataset 'my data' --out 'data/processed/my data.npz'" in line


@pytest.mark.parametrize("change", ["seeds", "algorithms"])
def test_dvc_yaml_follows_the_config_lists(change):
    cfg = {**FOUR, "seeds": [0, 1, 2]} if change == "seeds" else FOUR
    if change == "algorithms":
        cfg = {**FOUR, "algorithms": {"aekm": {}, "dec": {}}}
    stages = _dvc_stages(cfg)
    summarize = [d for d in stages["summarize"]["deps"] if d.endswith(".json")]
    assert summarize == [key.fmt(paths.RUN_METRICS) for key in paths.runs(cfg)]
    assert sorted(n for n in stages if n.startswith("fit-")) == sorted(
        f"fit-{a}" for a in cfg["algorithms"]
    )
    assert stages["pretrain"]["matrix"]["seed"] == cfg["seeds"]


def test_the_documented_dvc_exp_override_applies_to_the_default_config(tmp_path):
    from dvc.utils.hydra import apply_overrides  # what `dvc exp run -S` does to the file

    examples = {
        m for doc in ("README.md", "docs/report.md")
        for m in re.findall(r"dvc exp run -S '([^']+)'", (ROOT / doc).read_text())
    }  # fmt: skip
    assert examples
    for example in examples:
        file, _, override = example.partition(":")
        key, _, value = override.lstrip("+").partition("=")
        target = tmp_path / file
        target.write_text((ROOT / file).read_text())  # its dec block has no update_interval
        apply_overrides(target, [override])
        got = yaml.safe_load(target.read_text())
        for part in key.split("."):
            got = got[part]
        assert str(got) == value, example
