"""An ``autoencoders.<name>`` block, declared: one group of fields per architecture kind and
per pretraining mode, composed into ``AutoencoderParams``, from which the config schema's
``autoencoder`` block is generated (with these defaults, which the config loader fills in).

The pretraining code reads a block through ``autoencoder_params``, so a caller's partial dict
(a test's, a notebook's) gets the same defaults as a validated config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from deepclust.params import (
    Augmentation,
    batch_size_param,
    lr_param,
    momentum_param,
    optimizer_param,
    param,
)


@dataclass(frozen=True)
class ArchitectureParams:
    kind: str = param(
        "dense",
        choices=("dense", "conv"),
        doc=(
            "architecture family: dense (fully connected, `hidden`) or conv (convolutional, for "
            "image datasets only, `channels`)"
        ),
    )
    hidden: tuple[int, ...] = param(
        (500, 500, 2000), ge=1, doc="dense encoder hidden widths; the decoder mirrors them"
    )
    channels: tuple[int, ...] = param(
        (32, 64, 128),
        ge=1,
        min_items=1,
        doc=("conv encoder channels per stride-2 convolution (DCEC, DEKM); mirrored"),
    )
    embedding_dim: int = param(10, ge=1, doc="size of the embedding z")
    init: str | None = param(
        None,
        choices=("glorot_uniform", "fan_in_uniform"),
        doc=(
            "weight initialisation. null: the architecture's own (PyTorch's default for dense, "
            "Glorot-uniform for conv); glorot_uniform: Keras' default (DEC-keras on USPS); "
            "fan_in_uniform: uniform in ±sqrt(1/fan_in), Keras' VarianceScaling(1/3, fan_in, "
            "uniform) of DEC-keras on MNIST, Fashion-MNIST and REUTERS-10K. Both set biases to 0"
        ),
    )


@dataclass(frozen=True)
class EndToEndParams:
    """The end-to-end phase, every pretraining mode's (survey Algorithm 1)."""

    epochs: int = param(50, ge=1, doc="pretraining epochs (end-to-end, MSE reconstruction)")
    steps: int | None = param(
        None,
        ge=1,
        doc=(
            "pretraining budget in optimiser steps; when set it replaces `epochs` (50 epochs are "
            "100 steps on 400 samples and 13,700 on MNIST-full)"
        ),
    )
    batch_size: int = batch_size_param()
    optimizer: str = optimizer_param("adam")
    lr: float = lr_param(0.001)
    momentum: float = momentum_param(
        0.9,
        doc=(
            "SGD momentum of the pretraining: the layer-wise phase's (always SGD; Table 5 gives "
            "none, 0.9 is ours) and, with optimizer sgd, the end-to-end and ACAI phases'"
        ),
    )
    precision: str = param(
        "fp32",
        choices=("fp32", "bf16"),
        doc=(
            "arithmetic of the pretraining's forward and backward passes. fp32: full precision. "
            "bf16: matrix products in bfloat16 under torch.autocast (weights, optimizer and loss "
            "stay fp32), about 2x faster on CPUs with AVX-512 BF16 or AMX and on GPUs from "
            "Ampere on, slower where bf16 is emulated; see docs/performance.md"
        ),
    )
    pretraining: str = param(
        "end_to_end",
        choices=("end_to_end", "layerwise", "acai"),
        doc=(
            "end_to_end: train the whole autoencoder at once (epochs, optimizer, lr above); "
            "layerwise: first train each encoder/decoder layer pair as a denoising autoencoder "
            "(DEC/IDEC, survey Table 5), then the end-to-end phase; acai: adversarially "
            "constrained interpolation with a critic (DynAE, paper 003 Eq. 1-2; acai_* keys)"
        ),
    )


@dataclass(frozen=True)
class LayerwiseParams:
    """``pretraining: layerwise`` (DEC/IDEC, survey Table 5; ``models/pretrain.py``)."""

    layerwise_epochs: int = param(
        50, ge=1, doc=("epochs per layer pair (DEC trained 50,000 iterations per pair)")
    )
    layerwise_lr: float = lr_param(
        0.1, doc=("SGD learning rate of the layer-wise phase (Table 5); its momentum is `momentum`")
    )
    layerwise_lr_step: int = param(
        20000,
        ge=1,
        doc=("iterations between divisions of the layer-wise learning rate by 10 (Table 5)"),
    )
    dropout: float = param(
        0.2,
        ge=0,
        lt=1,
        doc=("dropout rate that corrupts each layer pair's input and hidden code (Table 5)"),
    )


@dataclass(frozen=True)
class ACAIParams:
    """``pretraining: acai`` (DynAE, paper 003 Eq. 1-2; ``models/acai.py``)."""

    acai_lambda: float = param(
        0.5, ge=0, doc=("acai: weight λ of the critic term in the autoencoder's loss (DynAE: 0.5)")
    )
    acai_gamma: float | None = param(
        None,
        ge=0,
        le=1,
        doc=(
            "acai: γ of the critic's regulariser c(γx + (1 − γ)x̂)²; null draws it uniformly in "
            "[0, 1] at each step (DynAE), a number fixes it (Berthelot et al.: 0.2)"
        ),
    )


@dataclass(frozen=True)
class AutoencoderParams(
    Augmentation, ACAIParams, LayerwiseParams, EndToEndParams, ArchitectureParams
):
    """Every key of an ``autoencoders.<name>`` block (``by_dataset`` aside). A dataclass
    lists the fields of its last base first, so the keys read architecture, end-to-end,
    layer-wise, ACAI, augmentation."""


def autoencoder_params(block: dict) -> AutoencoderParams:
    """The settings of an ``autoencoders.<name>`` block (its ``by_dataset`` ignored), the
    declared defaults for missing keys; a ValueError names an unknown key."""
    known = [f.name for f in dataclasses.fields(AutoencoderParams)]
    unknown = sorted(set(block) - {*known, "by_dataset"})
    if unknown:
        raise ValueError(
            f"autoencoder: unknown key {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )
    return AutoencoderParams(**{k: v for k, v in block.items() if k != "by_dataset"})
