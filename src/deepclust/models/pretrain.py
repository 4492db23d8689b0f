"""Autoencoder pretraining (survey Algorithm 1, MSE reconstruction, Eq. 1-2).

End-to-end (``pretraining: end_to_end``, the default): the whole autoencoder minimises
``F.mse_loss`` with its default mean over features and batch, the convention of Keras' ``mse``
used by the DEC/IDEC reference code. With ``augment: true`` (image data only) it is the
survey's Eq. 20, ½(MSE(x, x̂) + MSE(x^A, x̂^A)), x^A a random shift and rotation of each image
of the batch (``deepclust.augment``, ranges ``max_shift`` and ``max_rotation``) drawn from the
run's generator. Only the end-to-end phase augments; the layer-wise phase below does not.

Layer-wise (``pretraining: layerwise``, DEC/IDEC; survey Appendix Table 5): first each
encoder/decoder layer pair is trained in turn as a one-hidden-layer denoising autoencoder on
the (clean) output of the already trained encoder layers below it,

    x̃ = Dropout(x),  h = g1(W1 x̃ + b1),  h̃ = Dropout(h),  x̂ = g2(W2 h̃ + b2),

minimising the MSE between x̂ and x; then the end-to-end phase above fine-tunes the stacked
network without dropout. g1 and g2 are the activations the layers have in the stacked
autoencoder: ReLU, except g2 of the first pair (it reconstructs the input) and g1 of the last
pair (the embedding), as in Xie et al. Sec. 3.2. Table 5 gives SGD, lr 0.1 divided by 10 every
20,000 iterations, dropout rate 0.2, weight decay 0; the momentum (the block's ``momentum``,
0.9) is ours. Table 5 does not say where the dropout sits; corrupting both the pair's input and
its hidden code follows our reading of Xie et al. Sec. 3.2 (not among the texts in
shared/papers). The dropout masks come from the run's generator. Xie et al. trained 50,000
iterations per pair (≈ 183 MNIST epochs at batch 256), our default ``layerwise_epochs`` is 50.

Every mode honours ``precision``: ``bf16`` runs the forward and backward matrix products in
bfloat16 under ``torch.autocast`` (``training.autocast_bf16``); weights, the optimizer and the
MSE stay fp32. It is a speed option measured in docs/performance.md, not a paper setting.

ACAI (``pretraining: acai``, DynAE): see ``models/acai.py``; there ``augment`` replaces x by
its transformed copy instead of adding Eq. 20's second term.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from deepclust import losses
from deepclust.augment import augmenter
from deepclust.models.acai import pretrain_acai
from deepclust.models.autoencoder import FeedforwardAutoencoder, from_config
from deepclust.models.params import autoencoder_params
from deepclust.training import (
    Checkpointer,
    Objective,
    make_optimizer,
    pretraining_steps,
    train,
)


def reconstruction_loss(
    ae: FeedforwardAutoencoder,
    x: torch.Tensor,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """The end-to-end loss: MSE(x, x̂); with ``augment`` (x ↦ x^A) survey Eq. 20,
    ½(MSE(x, x̂) + MSE(x^A, x̂^A)) (``losses.reconstruction_loss``)."""
    if augment is None:
        return losses.reconstruction_loss(ae.decode, x, ae.encode(x))
    x_aug = augment(x)
    return losses.reconstruction_loss(ae.decode, x, ae.encode(x), x_aug, ae.encode(x_aug))


def pretrain(
    ae_cfg: dict,
    X: torch.Tensor,
    *,
    generator: torch.Generator,
    image_shape: tuple[int, int, int] | None = None,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> tuple[FeedforwardAutoencoder, list[dict]]:
    """Build the autoencoder that ``ae_cfg`` (an ``autoencoders.<name>`` block, missing keys
    taking their declared defaults) describes for ``X`` (rows that are images of
    ``image_shape``, if given) and train it to reconstruct (checkpointed by ``checkpointer``,
    see ``training``)."""
    cfg = autoencoder_params(ae_cfg)
    ae = from_config(ae_cfg, X.shape[1], image_shape).to(X.device)
    augment = None
    if cfg.augment:  # Eq. 20, end-to-end phase only
        augment = augmenter(
            ae.image_shape,
            generator,
            max_shift=cfg.max_shift,
            max_rotation=cfg.max_rotation,
            key="autoencoders.*.augment",
        )
    mode = cfg.pretraining
    precision = cfg.precision
    layerwise_history: list[dict] = []
    if mode == "layerwise":
        layerwise_history = pretrain_layerwise(
            ae,
            X,
            epochs=cfg.layerwise_epochs,
            batch_size=cfg.batch_size,
            lr=cfg.layerwise_lr,
            lr_step=cfg.layerwise_lr_step,
            dropout=cfg.dropout,
            momentum=cfg.momentum,
            generator=generator,
            progress=progress,
            precision=precision,
            checkpointer=checkpointer,
        )
    elif mode == "acai":  # DynAE's adversarially constrained interpolation (models/acai.py)
        return ae, pretrain_acai(
            ae, X, ae_cfg, augment=augment, generator=generator, progress=progress,
            checkpointer=checkpointer,
        )  # fmt: skip
    elif mode != "end_to_end":
        raise ValueError(f"unknown pretraining '{mode}'; known: end_to_end, layerwise, acai")
    optimizer = make_optimizer(ae.parameters(), cfg.optimizer, cfg.lr, cfg.momentum)
    objective = Objective(batch_loss=lambda x, idx: {"loss": reconstruction_loss(ae, x, augment)})
    batch_size = min(cfg.batch_size, len(X))
    history = train(
        objective,
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=pretraining_steps(vars(cfg), len(X), batch_size),
        generator=generator,
        desc="pretrain",
        progress=progress,
        precision=precision,
        checkpointer=checkpointer,
    )
    if layerwise_history:
        offset = layerwise_history[-1]["step"]
        history = layerwise_history + [
            {**row, "step": row["step"] + offset, "phase": "end_to_end"} for row in history
        ]
    return ae, history


def layer_pairs(ae: FeedforwardAutoencoder) -> list[tuple[nn.Linear, nn.Linear, bool, bool]]:
    """(encoder layer i, its mirror decoder layer, ReLU after the encoder layer?, ReLU after
    the decoder layer?) for i = 1, ..., L, outermost pair first."""
    enc = [m for m in ae.encoder if isinstance(m, nn.Linear)]
    dec = [m for m in ae.decoder if isinstance(m, nn.Linear)][::-1]
    n = len(enc)
    return [(enc[i], dec[i], i < n - 1, i > 0) for i in range(n)]


def corrupt(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Inverted dropout whose mask is drawn from ``generator`` (a CPU generator)."""
    if p == 0:
        return x
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep.to(device=x.device, dtype=x.dtype) / (1 - p)


def pretrain_layerwise(
    ae: FeedforwardAutoencoder,
    X: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    lr_step: int,
    dropout: float,
    momentum: float,
    generator: torch.Generator,
    progress: bool = True,
    precision: str = "fp32",
    checkpointer: Checkpointer | None = None,
) -> list[dict]:
    """Greedy layer-wise denoising pretraining of ``ae`` in place; returns the history."""
    p = dropout
    history: list[dict] = []
    inputs = X
    batch_size = min(batch_size, len(X))
    steps = epochs * math.ceil(len(X) / batch_size)
    pairs = layer_pairs(ae)
    for number, (enc, dec, enc_relu, dec_relu) in enumerate(pairs, start=1):
        optimizer = make_optimizer([*enc.parameters(), *dec.parameters()], "sgd", lr, momentum)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=lr_step, gamma=0.1)

        def batch_loss(x, idx, enc=enc, dec=dec, enc_relu=enc_relu, dec_relu=dec_relu):
            h = enc(corrupt(x, p, generator))
            h = F.relu(h) if enc_relu else h
            out = dec(corrupt(h, p, generator))
            out = F.relu(out) if dec_relu else out
            return {"loss": F.mse_loss(out, x)}

        objective = Objective(
            batch_loss=batch_loss,
            after_step=lambda x, idx, s=scheduler: s.step(),
            state=scheduler,  # checkpointed with the run
        )
        rows = train(
            objective,
            inputs,
            optimizer,
            batch_size=batch_size,
            max_steps=steps,
            generator=generator,
            desc=f"pretrain layer {number}/{len(pairs)}",
            progress=progress,
            precision=precision,
            checkpointer=checkpointer,
        )
        offset = history[-1]["step"] if history else 0
        history += [{**r, "step": r["step"] + offset, "phase": f"layer{number}"} for r in rows]
        with torch.no_grad():  # the clean codes of this layer are the next pair's data
            codes = [enc(inputs[i : i + 4096]) for i in range(0, len(inputs), 4096)]
            inputs = torch.cat(codes)
            inputs = F.relu(inputs) if enc_relu else inputs
    return history
