"""Parameter declarations: each parameter is one typed dataclass field that carries its
default, its bounds, its choices and its description, and the config schema's blocks are
generated from these fields (``block_schema``). So a parameter is declared once for the config
file, Snakemake, the CLI and the Python estimators, which all validate with that schema.

    alpha: float = param(1.0, gt=0, doc="Student's t degrees of freedom")

``ge``/``gt``/``le``/``lt`` are JSON Schema's minimum, exclusiveMinimum, maximum and
exclusiveMaximum; for a ``tuple[int, ...]`` they bound each item. ``None`` in the type makes
the key nullable (a bound then applies to numbers only).

Groups shared by several declarations live here once: ``Augmentation`` (a mixin: survey Eq.
20-25's random shift and rotation) and the optimiser's fields (``batch_size``, ``optimizer``,
``lr``, ``momentum``: ``*_param`` here), whose defaults each method gives (they are its paper's).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any

JSON_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}
NAMED_TYPES = {t.__name__: t for t in JSON_TYPES}
BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


def param(
    default: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple | None = None,
    min_items: int | None = None,
    doc: str | None = None,
) -> Any:
    """A dataclass field with ``default`` and what the schema checks of a value."""
    given = {"ge": ge, "gt": gt, "le": le, "lt": lt}
    metadata = {
        "bounds": {BOUNDS[k]: v for k, v in given.items() if v is not None},
        "choices": choices,
        "min_items": min_items,
        "doc": doc,
    }
    return dataclasses.field(default=default, metadata=metadata)


def batch_size_param(default: int = 256, doc: str | None = None) -> Any:
    return param(default, ge=1, doc=doc)


def optimizer_param(default: str, doc: str | None = None) -> Any:
    return param(default, choices=("sgd", "adam"), doc=doc)


def lr_param(default: float, doc: str | None = None) -> Any:
    return param(default, gt=0, doc=doc)


def momentum_param(default: float, doc: str | None = None) -> Any:
    return param(default, ge=0, doc=doc)


def augment_param(default: bool) -> Any:
    doc = "image data only: also train on a randomly shifted and rotated copy of each batch"
    return param(default, doc=f"{doc} (survey Eq. 20-25; deepclust/augment.py)")


@dataclass(frozen=True)
class Augmentation:
    """Survey Eq. 20-25: a random shift and rotation of each image (``deepclust.augment``),
    ranges as DynAE's (Sec. 4.1: δ ∈ [−1, 1] pixels, 10 degrees)."""

    augment: bool = augment_param(False)
    max_shift: float = param(
        1.0, ge=0, doc="largest random shift along width and height, in pixels"
    )
    max_rotation: float = param(10.0, ge=0, doc="largest random rotation, in degrees")


def block_schema(declaration: type, *, defaults: bool) -> dict:
    """The JSON Schema properties of a declaration's fields, in field order; with
    ``defaults``, each carries its default (which the config loader fills in)."""
    try:
        hints = typing.get_type_hints(declaration)
    except (NameError, TypeError):  # a plug-in's annotation that does not resolve here
        hints = {}
    return {
        f.name: field_schema(
            hints.get(f.name, f.type), f.metadata, f.default if defaults else dataclasses.MISSING
        )
        for f in dataclasses.fields(declaration)
    }


def field_schema(hint: Any, metadata: Any, default: Any = dataclasses.MISSING) -> dict:
    """One field's JSON Schema: its type (int, float, bool, str or a homogeneous tuple of
    one, each optionally ``| None``), bounds, choices, description and default. Another type
    (a plug-in's) is not checked beyond its bounds and choices."""
    hint = NAMED_TYPES.get(hint, hint) if isinstance(hint, str) else hint
    args = typing.get_args(hint)
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    nullable = union and type(None) in args
    if nullable and len(args) == 2:
        (hint,) = [a for a in args if a is not type(None)]
    bounds = dict(metadata.get("bounds", {}))
    items = {a for a in typing.get_args(hint) if a is not Ellipsis}
    if typing.get_origin(hint) is tuple and len(items) == 1 and next(iter(items)) in JSON_TYPES:
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"type": JSON_TYPES[next(iter(items))], **bounds},
        }
        if metadata.get("min_items") is not None:
            schema["minItems"] = metadata["min_items"]
    elif hint in JSON_TYPES:
        schema = {"type": JSON_TYPES[hint], **bounds}
    else:
        schema = dict(bounds)
    if nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if metadata.get("choices") is not None:
        schema["enum"] = [*metadata["choices"], *([None] if nullable else [])]
    if metadata.get("doc"):
        schema["description"] = metadata["doc"]
    if default is not dataclasses.MISSING:
        schema["default"] = list(default) if isinstance(default, tuple) else default
    return schema
