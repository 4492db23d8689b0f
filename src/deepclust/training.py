"""The one training loop: pretraining and every refinement run through it.

The loop owns batching (the dataset stays resident on the device; batches are index slices
of a per-epoch permutation drawn from the run's generator), the optimiser step, the NaN
check, the progress bar and the history. An algorithm supplies an ``Objective``: the loss of
a batch and, optionally, its own updates before and after each step (DEC's target
distribution every T steps, DCN's centroid update after each batch) and its stop rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the step and the loss terms."""


@dataclass
class Objective:
    """What an algorithm plugs into ``train``.

    ``batch_loss(x, idx)`` returns the loss terms of one batch; ``"loss"`` is minimised.
    ``before_step(step)`` may return a dict of metrics to log (e.g. ``delta_label``) and sets
    ``stop`` to end training. ``after_step(x, idx)`` runs after the optimiser step.
    """

    batch_loss: Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]
    before_step: Callable[[int], dict | None] | None = None
    after_step: Callable[[torch.Tensor, torch.Tensor], None] | None = None
    stop: bool = field(default=False, init=False)


def make_optimizer(params, name: str, lr: float, momentum: float = 0.0) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    raise ValueError(f"unknown optimizer '{name}'; known: adam, sgd")


def train(
    objective: Objective,
    X: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    max_steps: int,
    generator: torch.Generator,
    desc: str = "train",
    progress: bool = True,
) -> list[dict]:
    """Run up to ``max_steps`` optimiser steps over shuffled batches of ``X``.

    Returns the history: one row per epoch (mean of each loss term over its steps) plus one
    row for every ``before_step`` call that reported metrics.
    """
    n = len(X)
    steps_per_epoch = math.ceil(n / batch_size)
    history: list[dict] = []
    sums: dict[str, float] = {}
    n_in_epoch = 0
    bar = tqdm(total=max_steps, desc=desc, disable=not progress, unit="step", leave=False)
    step = 0
    perm = torch.empty(0, dtype=torch.long)
    while step < max_steps:
        epoch, pos = divmod(step, steps_per_epoch)
        if pos == 0:
            perm = torch.randperm(n, generator=generator).to(X.device)
        if objective.before_step is not None:
            info = objective.before_step(step)
            if info:
                history.append({"step": step, "epoch": epoch, **info})
            if objective.stop:
                break
        idx = perm[pos * batch_size : (pos + 1) * batch_size]
        xb = X[idx]
        terms = objective.batch_loss(xb, idx)
        loss = terms["loss"]
        if not torch.isfinite(loss):
            values = {k: float(v.detach()) for k, v in terms.items()}
            raise NonFiniteLossError(f"{desc}: non-finite loss at step {step}: {values}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if objective.after_step is not None:
            objective.after_step(xb, idx)
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach())
        n_in_epoch += 1
        step += 1
        bar.update(1)
        if step % steps_per_epoch == 0 or step == max_steps:
            row = {"step": step, "epoch": epoch + 1}
            row.update({k: v / n_in_epoch for k, v in sums.items()})
            history.append(row)
            bar.set_postfix(loss=f"{row['loss']:.4g}")
            sums, n_in_epoch = {}, 0
    bar.close()
    return history
