"""Load and validate ``config.yaml`` against the package's JSON schema (defaults filled in).

The Snakefile and the CLI (and so DVC) validate with the same schema file, so a typo is an
error naming the key, whichever tool reads the config first.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from deepclust.params import block_schema
from deepclust.settings import for_dataset

SCHEMA_RESOURCE = resources.files("deepclust") / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and what was expected."""


def schema() -> dict:
    """The config schema: the package's file plus the generated parameter blocks."""
    return copy.deepcopy(_schema())


@functools.cache
def _schema() -> dict:
    """The package's file, with the parameter blocks generated from their declarations: the
    autoencoder's (``models.params.AutoencoderParams``) and each algorithm's, built-in or
    plug-in (its ``*Params`` dataclass and presets)."""
    from deepclust.algorithms import ALGORITHMS
    from deepclust.models.params import AutoencoderParams

    root = yaml.safe_load(SCHEMA_RESOURCE.read_text())
    root["$defs"]["autoencoder"] = _block(block_schema(AutoencoderParams, defaults=True))
    listed = root["properties"]["algorithms"]["properties"] = {}
    for name, algorithm in ALGORITHMS.items():
        root["$defs"][name] = algorithm_block(algorithm)
        listed[name] = {"$ref": f"#/$defs/{name}"}
    return root


def algorithm_block(algorithm) -> dict:
    """An ``algorithms.<name>`` block's schema: a ``preset`` among the algorithm's and one
    property per field of its parameter dataclass, without defaults (the preset gives them)."""
    presets = list(dict.fromkeys(["paper", *algorithm.presets]))
    preset = {"description": PRESET_DOC, "type": "string", "enum": presets}
    return _block({"preset": preset, **block_schema(algorithm.params, defaults=False)})


PRESET_DOC = (
    "paper: the published hyperparameters (per dataset where the papers differ); fast: a short "
    "run for CPUs; tiny: a few steps on ~100 samples (smoke runs, the tests); `deepclust "
    "algorithms` lists each algorithm's"
)


def _block(properties: dict) -> dict:
    properties = {**properties, "by_dataset": {"$ref": "#/$defs/by_dataset"}}
    return {"type": "object", "additionalProperties": False, "properties": properties}


def load(path: str | Path) -> dict:
    """Read and validate a config file; returns the config with defaults filled in."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with path.open() as fh:
            raw = yaml.safe_load(fh) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{path}: YAML syntax error{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, got a {type(raw).__name__}")
    return validate(raw, source=str(path))


def validate(config: dict, source: str = "config") -> dict:
    """Validate ``config``; return a copy with the schema's defaults filled in."""
    config = copy.deepcopy(config)
    validator_cls = jsonschema.validators.validator_for(schema())
    errors = sorted(_with_defaults(validator_cls)(schema()).iter_errors(config), key=str)
    if errors:
        raise ConfigError(f"{source}: " + "; ".join(_describe(e) for e in errors))
    _check_names(config, source)
    return config


def fingerprint(obj: Any) -> str:
    """A canonical string of a config slice: the same settings give the same string whatever
    their key order, so Snakemake's params trigger re-runs a job only when a value changed."""
    return json.dumps(obj, sort_keys=True)


def _check_names(config: dict, source: str) -> None:
    from deepclust.algorithms import ALGORITHMS
    from deepclust.data.registry import DATASETS

    for name in config["datasets"]:
        if name not in DATASETS:
            raise ConfigError(
                f"{source}: datasets: unknown dataset '{name}'; known: {', '.join(DATASETS)}"
            )
    for name in config["algorithms"]:
        if name not in ALGORITHMS:
            raise ConfigError(
                f"{source}: algorithms: unknown algorithm '{name}'; known: {', '.join(ALGORITHMS)}"
            )
    for section, ref in (("autoencoders", lambda _: "autoencoder"), ("algorithms", str)):
        for name, block in config[section].items():
            _check_by_dataset(block, f"{source}: {section}.{name}", ref(name))
    for name, params in config["algorithms"].items():
        for dataset in config["datasets"]:  # raises on a bad key or value
            ALGORITHMS[name].params_from_config(params, dataset)
    _check_pairings(config, source)


def _check_by_dataset(block: dict, where: str, definition: str) -> None:
    """Each ``by_dataset`` entry must name a known dataset, and the block merged with it must
    be valid like the block itself."""
    from deepclust.data.registry import DATASETS

    for dataset in block.get("by_dataset", {}):
        if dataset not in DATASETS:
            raise ConfigError(
                f"{where}.by_dataset: unknown dataset '{dataset}'; known: {', '.join(DATASETS)}"
            )
        validate_block(definition, for_dataset(block, dataset), f"{where}.by_dataset.{dataset}")


def validate_block(definition: str, block: dict, where: str) -> dict:
    """Validate one block against the schema's ``$defs/<definition>`` (an autoencoder's or an
    algorithm's); return a copy with its defaults filled in. Errors name ``where`` and the key,
    as for a whole config, so that Python callers get the same messages."""
    root = schema()
    sub_schema = {"$ref": f"#/$defs/{definition}", "$defs": root["$defs"]}
    block = copy.deepcopy(block)
    validator = _with_defaults(jsonschema.validators.validator_for(root))(sub_schema)
    errors = sorted(validator.iter_errors(block), key=str)
    if errors:
        raise ConfigError(f"{where}: " + "; ".join(_describe(e) for e in errors))
    return block


def _check_pairings(config: dict, source: str) -> None:
    """Every dataset × autoencoder × algorithm of the config must be runnable (the Snakefile
    and dvc.yaml run their full product): convolutional autoencoders and augmentation need
    image datasets, and an algorithm must accept the kind of every autoencoder."""
    from deepclust.algorithms import ALGORITHMS
    from deepclust.data.registry import DATASETS

    not_images = [d for d in config["datasets"] if DATASETS[d].image_shape is None]
    hint = "; run them from a config of their own"
    for name, ae in config["autoencoders"].items():
        for key, value in (("kind", "conv"), ("augment", True)):
            clashing = [d for d in not_images if for_dataset(ae, d)[key] == value]
            if clashing:
                what = "kind 'conv'" if key == "kind" else "augment"
                raise ConfigError(
                    f"{source}: autoencoders.{name}: {what} needs image data, but "
                    f"datasets {', '.join(clashing)} are not images{hint}"
                )
    for name, cfg in config["algorithms"].items():
        algorithm = ALGORITHMS[name]
        augmented = [
            d for d in not_images if getattr(algorithm.params_from_config(cfg, d), "augment", False)
        ]
        if augmented:
            raise ConfigError(
                f"{source}: algorithms.{name}.augment needs image data, but datasets "
                f"{', '.join(augmented)} are not images{hint}"
            )
        kinds = algorithm.autoencoder_kinds
        for ae_name, ae in config["autoencoders"].items():
            for kind in {for_dataset(ae, d)["kind"] for d in config["datasets"]} - set(kinds):
                raise ConfigError(
                    f"{source}: algorithms.{name} needs a {' or '.join(kinds)} autoencoder, "
                    f"but autoencoders.{ae_name} is {kind}{hint}"
                )
    if "den" in config["algorithms"]:  # one group of embedding features per cluster
        for ae_name, ae in config["autoencoders"].items():
            small = [
                d
                for d in config["datasets"]
                if for_dataset(ae, d)["embedding_dim"] < DATASETS[d].n_clusters
            ]
            if small:
                raise ConfigError(
                    f"{source}: algorithms.den needs embedding_dim >= the number of clusters "
                    f"(one feature group per cluster), but autoencoders.{ae_name} is smaller "
                    f"on datasets {', '.join(small)}{hint}"
                )


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return (
            f"{where}: unknown key {', '.join(repr(k) for k in extra)}; known: {', '.join(allowed)}"
        )
    return f"{where}: {error.message}"


def _with_defaults(validator_cls: Any) -> Any:
    """A validator that fills in ``default`` values while it walks the schema."""
    validate_properties = validator_cls.VALIDATORS["properties"]

    def properties(validator, props, instance, schema_):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, props, instance, schema_)

    return jsonschema.validators.extend(validator_cls, {"properties": properties})
