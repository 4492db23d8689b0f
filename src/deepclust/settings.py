"""Per-dataset settings: how a config block applies to one dataset (a leaf module that both
the config layer and the algorithms use)."""

from __future__ import annotations


def for_dataset(block: dict, dataset: str | None) -> dict:
    """An ``autoencoders.<name>`` or ``algorithms.<name>`` block as it applies to ``dataset``:
    its ``by_dataset[dataset]`` entry merged over the rest, without ``by_dataset``. This is the
    slice a stage of that dataset depends on, so only its jobs rerun when its entry changes."""
    block = dict(block)
    overrides = block.pop("by_dataset", None) or {}
    return {**block, **overrides.get(dataset, {})}
