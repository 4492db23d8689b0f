"""Degenerate results are errors, not scores.

A refinement can end "successfully" in a state no one would report: every sample in one
cluster (DEC with a huge learning rate; IDEC on a small dataset whose first target update
moved 99 % of the labels), an embedding blown up or shrunk to a point, a loss that ran away.
The loop's NaN check misses these (the KL loss of a collapsed DEC shrinks towards zero), and a
stop rule on the fraction of changed labels calls a collapsed assignment "converged" because
it no longer changes. ``symptoms`` names what is wrong, with the step; the fit stage fails on
them, or with ``on_degenerate: warn`` records them in the run, and the summary marks the run.
"""

from __future__ import annotations

import math

import numpy as np

from deepclust.algorithms.base import ClusteringResult

MAX_SPREAD_CHANGE = 1e3  # the embedding's spread may grow or shrink this much from the start
MAX_LOSS_GROWTH = 1e3  # the last epoch's loss may be this much larger than the first's
BURST = 0.5  # a label update that moves this fraction of the labels at once is named


class DegenerateResultError(RuntimeError):
    """A refinement ended in a degenerate state; the message names method, step and symptom."""


def symptoms(
    result: ClusteringResult,
    n_clusters: int,
    start_embedding: np.ndarray | None = None,
    *,
    chooses_k: bool = False,
) -> list[str]:
    """What is degenerate about ``result`` (empty if nothing): fewer than ``n_clusters``
    non-empty clusters (for a method that finds its own number, ``chooses_k``: a single
    cluster), a non-finite embedding or one whose spread (mean over dimensions of
    the standard deviation over samples) changed by more than ``MAX_SPREAD_CHANGE`` from
    ``start_embedding`` (when it has the same dimension) or is zero, and a last-epoch loss
    more than ``MAX_LOSS_GROWTH`` times the first epoch's."""
    history = result.history
    found = int(np.unique(result.labels).size)
    out = []
    if chooses_k:
        if found < 2:
            out.append("every sample is in one cluster")
    elif found < n_clusters:
        out.append(
            f"only {found} of {n_clusters} clusters are non-empty" + _when(history, n_clusters)
        )
    z = np.asarray(result.embedding, dtype=np.float64)
    if not np.isfinite(z).all():
        out.append("the embedding has non-finite values")
    elif len(z) > 1:
        spread = float(z.std(axis=0).mean())
        if spread == 0.0:
            out.append("every sample has the same embedding")
        elif start_embedding is not None and start_embedding.shape[1:] == z.shape[1:]:
            start = float(np.asarray(start_embedding, np.float64).std(axis=0).mean())
            ratio = spread / start if start > 0 else math.inf
            if not 1 / MAX_SPREAD_CHANGE <= ratio <= MAX_SPREAD_CHANGE:
                out.append(
                    f"the embedding's spread went from {start:.3g} (pretrained) to "
                    f"{spread:.3g}, a factor of {ratio:.3g}"
                )
    losses = [row["loss"] for row in history if _number(row.get("loss"))]
    if len(losses) > 1 and losses[-1] > MAX_LOSS_GROWTH * max(losses[0], 1e-12):
        out.append(f"the loss grew from {losses[0]:.4g} (first epoch) to {losses[-1]:.4g}")
    return out


def message(method: str, result: ClusteringResult, found: list[str]) -> str:
    """One line naming the method, the final step and every symptom."""
    step = _last_step(result.history)
    return (
        f"{method}: degenerate result at the end of training (step {step}): "
        + "; ".join(found)
        + ". A learning rate too large or an autoencoder too small for the data are the usual "
        "causes"
    )


def _when(history: list[dict], n_clusters: int) -> str:
    """When the assignment first lost clusters, from the label updates' history rows, and
    whether the stop rule then took it for convergence."""
    updates = [row for row in history if _number(row.get("n_clusters_found"))]
    if not updates:
        return ""
    lost = next((row for row in updates if row["n_clusters_found"] < n_clusters), None)
    if lost is None:
        return ""
    text = f" (since the label update at step {lost['step']}"
    if _number(lost.get("delta_label")) and lost["delta_label"] >= BURST:
        text += f", which changed {100 * lost['delta_label']:.0f} % of the labels at once"
    last = updates[-1]
    if last["step"] == _last_step(history) and _number(last.get("delta_label")):
        text += (
            f"; the stop rule ended training at step {last['step']} because the collapsed "
            "assignment no longer changed: a collapse, not convergence"
        )
    return text + ")"


def _last_step(history: list[dict]) -> int:
    steps = [row["step"] for row in history if _number(row.get("step"))]
    return int(max(steps)) if steps else 0


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
