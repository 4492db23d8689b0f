import dataclasses
import typing

import pytest
import yaml

from deepclust import config
from deepclust.algorithms import ALGORITHMS
from deepclust.config import ConfigError
from deepclust.data.registry import DATASETS
from deepclust.models.params import AutoencoderParams, autoencoder_params
from tests.conftest import ROOT, TINY_CONFIG


def _tiny() -> dict:
    return yaml.safe_load(TINY_CONFIG.read_text())


def test_project_configs_are_valid_and_defaults_are_filled():
    for path in (ROOT / "config.yaml", TINY_CONFIG, *sorted((ROOT / "configs").glob("*.yaml"))):
        cfg = config.load(path)
        assert cfg["init"]["n_init"] >= 1
    cfg = config.validate(_tiny())
    assert cfg["autoencoders"]["dense"]["batch_size"] == 256  # schema default
    assert cfg["autoencoders"]["dense"]["kind"] == "dense"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(datasetz=["digits"]), r"unknown key 'datasetz'; known: .*datasets"),
        (lambda c: c.update(seeds="zero"), r"seeds: 'zero' is not of type 'array'"),
        (lambda c: c["autoencoders"]["dense"].update(epochs=-1), r"autoencoders.dense.epochs"),
        (lambda c: c["algorithms"]["dec"].update(alpah=1), r"algorithms.dec: unknown key 'alpah'"),
        (lambda c: c.update(datasets=["mnits"]), r"unknown dataset 'mnits'; known: digits, "),
        (
            lambda c: c["algorithms"].update(decc={}),
            r"algorithms: unknown key 'decc'; known: acedec, aec, aekm",
        ),
        (lambda c: c["algorithms"]["dec"].update(preset="slow"), r"algorithms.dec.preset: 'slow'"),
        (lambda c: c.update(device="gpu"), r"device: 'gpu' does not match"),
    ],
)
def test_bad_config_names_the_key(change, message):
    cfg = _tiny()
    change(cfg)
    with pytest.raises(ConfigError, match=message):
        config.validate(cfg)


def _declarations():
    """(schema definition, parameter dataclass) of every declared block."""
    return [("autoencoder", AutoencoderParams)] + [(n, a.params) for n, a in ALGORITHMS.items()]


def test_generated_blocks_list_exactly_each_declared_parameter():
    defs = config.schema()["$defs"]
    for name, declaration in _declarations():
        fields = {f.name for f in dataclasses.fields(declaration)}
        extra = {"by_dataset"} | ({"preset"} if name != "autoencoder" else set())
        assert set(defs[name]["properties"]) == fields | extra, name


def test_the_autoencoder_blocks_defaults_are_the_declarations():
    filled = config.validate_block("autoencoder", {}, "autoencoder")
    declared = dataclasses.asdict(AutoencoderParams())
    assert filled == {k: list(v) if isinstance(v, tuple) else v for k, v in declared.items()}
    assert autoencoder_params(filled) == AutoencoderParams(**filled)
    assert autoencoder_params({"momentum": 0.5}).layerwise_lr == 0.1  # partial dicts too
    with pytest.raises(ValueError, match="unknown key 'hiden'"):
        autoencoder_params({"hiden": [8]})


def _just_outside(bound: str, value: float, integer: bool) -> float:
    """A value that the JSON Schema ``bound`` at ``value`` rejects."""
    step = 1 if integer else 0.5
    return {"minimum": value - step, "maximum": value + step}.get(bound, value)


@pytest.mark.parametrize(("name", "declaration"), _declarations())
def test_generated_blocks_accept_the_defaults_and_reject_what_the_bounds_exclude(name, declaration):
    hints = typing.get_type_hints(declaration)
    defaults = {f.name: f.default for f in dataclasses.fields(declaration)}
    config.validate_block(name, {k: list(v) if isinstance(v, tuple) else v
                                 for k, v in defaults.items()}, name)  # fmt: skip
    for f in dataclasses.fields(declaration):
        hint = hints[f.name]
        is_tuple = typing.get_origin(hint) is tuple
        integer = hint is int or int in typing.get_args(hint)  # int, int | None, tuple[int, ...]
        for bound, value in f.metadata.get("bounds", {}).items():
            bad = _just_outside(bound, value, integer)
            with pytest.raises(ConfigError, match=rf"{name}: .*{f.name}"):
                config.validate_block(name, {f.name: [bad] if is_tuple else bad}, name)
        if f.metadata.get("choices"):
            with pytest.raises(ConfigError, match=r"is not one of"):
                config.validate_block(name, {f.name: "not-a-choice"}, name)
        with pytest.raises(ConfigError, match=rf"{f.name}: .* is not of type"):
            config.validate_block(name, {f.name: {"a": "mapping"}}, name)


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_preset_sets_declared_values_within_their_bounds(name):
    algorithm = ALGORITHMS[name]
    for preset in ["paper", *algorithm.presets]:
        for dataset in [None, *DATASETS]:
            values = dataclasses.asdict(algorithm.params_from_config({"preset": preset}, dataset))
            values = {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
            config.validate_block(name, {"preset": preset, **values}, f"{name}.{preset}")
    with pytest.raises(ConfigError, match=r"preset: 'nope' is not one of \['paper'"):
        config.validate_block(name, {"preset": "nope"}, name)


def test_presets_override_paper_defaults_and_keys_override_presets():
    dec = ALGORITHMS["dec"]
    assert dec.params_from_config({}).update_interval == 140
    assert dec.params_from_config({"preset": "fast"}).update_interval == 30
    assert dec.params_from_config({"preset": "fast", "update_interval": 7}).update_interval == 7
    with pytest.raises(ValueError, match=r"unknown key 'nope'; known: .*alpha"):
        dec.params_from_config({"nope": 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: (
                c.update(datasets=["digits", "damic_synthetic"])
                or c["autoencoders"]["dense"].update(kind="conv")
            ),
            r"autoencoders.dense: kind 'conv' needs image data, but datasets damic_synthetic",
        ),
        (
            lambda c: (
                c.update(datasets=["damic_synthetic"])
                or c["autoencoders"]["dense"].update(augment=True)
            ),
            r"autoencoders.dense: augment needs image data",
        ),
        (
            lambda c: (
                c.update(datasets=["damic_synthetic"])
                or c["algorithms"]["dec"].update(augment=True)
            ),
            r"algorithms.dec.augment needs image data",
        ),
        (
            lambda c: c["algorithms"].update(dcec={}),
            r"algorithms.dcec needs a conv autoencoder, but autoencoders.dense is dense",
        ),
        (
            lambda c: c["algorithms"].update(den={}),  # digits: k = 10, embedding 5
            r"algorithms.den needs embedding_dim >= the number of clusters .* on datasets digits",
        ),
    ],
)
def test_every_dataset_autoencoder_algorithm_pairing_must_be_runnable(change, message):
    cfg = _tiny()
    change(cfg)
    with pytest.raises(ConfigError, match=message):
        config.validate(cfg)


def test_a_conv_config_of_image_datasets_is_valid():
    cfg = _tiny()
    cfg["autoencoders"] = {"conv": {"kind": "conv", "augment": True}}
    cfg["algorithms"] = {"dcec": {"augment": True}, "dec": {}}
    assert config.validate(cfg)["autoencoders"]["conv"]["channels"] == [32, 64, 128]


def test_by_dataset_entries_apply_to_their_dataset_only():
    cfg = _tiny()
    cfg["autoencoders"]["dense"]["by_dataset"] = {"usps": {"epochs": 7, "optimizer": "sgd"}}
    cfg["algorithms"]["dec"]["by_dataset"] = {"usps": {"max_iter": 3}}
    cfg = config.validate(cfg)
    ae, dec = cfg["autoencoders"]["dense"], cfg["algorithms"]["dec"]
    assert config.for_dataset(ae, "usps")["epochs"] == 7
    assert config.for_dataset(ae, "usps")["optimizer"] == "sgd"
    assert config.for_dataset(ae, "digits")["epochs"] == 2  # the block's own value
    assert "by_dataset" not in config.for_dataset(ae, "digits")
    assert ALGORITHMS["dec"].params_from_config(dec, "usps").max_iter == 3
    assert ALGORITHMS["dec"].params_from_config(dec, "digits").max_iter == 20


def test_the_paper_preset_resolves_per_dataset_and_config_keys_win():
    idec = ALGORITHMS["idec"]
    mnist, usps = idec.params_from_config({}, "mnist"), idec.params_from_config({}, "usps")
    assert (mnist.optimizer, mnist.update_interval) == ("adam", 140)  # IDEC Table 5, MNIST
    assert (usps.optimizer, usps.lr, usps.momentum, usps.update_interval) == ("sgd", 0.1, 0.99, 30)
    assert idec.params_from_config({}, "reuters10k").update_interval == 3
    assert idec.params_from_config({"update_interval": 9}, "usps").update_interval == 9
    block = {"by_dataset": {"usps": {"preset": "fast"}}}
    assert idec.params_from_config(block, "usps").max_iter == 600  # another preset there
    assert idec.params_from_config(block, "mnist").max_iter == 20000
    assert ALGORITHMS["dec"].params_from_config({}, "usps").update_interval == 30  # DEC-keras


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: c["autoencoders"]["dense"].update(by_dataset={"uspss": {"epochs": 1}}),
            r"autoencoders.dense.by_dataset: unknown dataset 'uspss'",
        ),
        (
            lambda c: c["autoencoders"]["dense"].update(by_dataset={"usps": {"lr": -1}}),
            r"autoencoders.dense.by_dataset.usps: lr: -1 is less than or equal to",
        ),
        (
            lambda c: c["autoencoders"]["dense"].update(by_dataset={"usps": {"epoch": 1}}),
            r"autoencoders.dense.by_dataset.usps: \(top level\): unknown key 'epoch'",
        ),
        (
            lambda c: c["algorithms"]["dec"].update(by_dataset={"digits": {"tol": "x"}}),
            r"algorithms.dec.by_dataset.digits: tol: 'x' is not of type 'number'",
        ),
        (
            lambda c: c["algorithms"]["dec"].update(by_dataset={"digits": {"alpah": 1}}),
            r"algorithms.dec.by_dataset.digits: \(top level\): unknown key 'alpah'",
        ),
        (
            lambda c: c["autoencoders"]["dense"].update(init="he"),
            r"autoencoders.dense.init: 'he' is not one of",
        ),
    ],
)
def test_bad_by_dataset_entries_name_the_dataset_and_key(change, message):
    cfg = _tiny()
    change(cfg)
    with pytest.raises(ConfigError, match=message):
        config.validate(cfg)
