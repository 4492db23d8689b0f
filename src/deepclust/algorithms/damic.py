"""DAMIC: Deep Autoencoder MIxture Clustering (Chazan, Gannot, Goldberger, 2019; paper 004).

Simultaneous (survey Sec. 3.3: the clustering parameters are learned, with soft assignments).
Each cluster i is an autoencoder f_i (an "expert"); a clustering network computes
p(c = i | x) = softmax_i(w_i h(x) + b_i) (Eq. 1). Everything is trained jointly on the
mixture-of-experts reconstruction loss (Eq. 3, Table 1)

    L = −Σ_t log Σ_i p(c_t = i | x_t) exp(−d(x_t, f_i(x_t))),   d(x, y) = ½‖x − y‖²,

computed with log-softmax and log-sum-exp, ‖·‖² summed over features, averaged (not summed)
over the batch. Its gradient for the clustering network is Eq. 4-5: the soft labels
w_ti ∝ p_i exp(−d_i) are the network's targets. The final labels are ĉ = argmax_i p(c = i | x)
(Eq. 2), in evaluation mode; the embedding is h(x), the clustering network's last hidden
layer (the paper's "embedded space", Fig. 2e). ``centers`` is None.

Initialisation (Sec. 2, Table 1): the shared pretrained autoencoder and its k-means labels
(``init.labels``) come from the pipeline; phase 1 pretrains the clustering network on those
labels (cross-entropy), phase 2 pretrains expert i on the points of k-means cluster i, phase 3
trains everything jointly on L. Each phase is one ``train`` call (checkpointable). The single
autoencoder (the paper: layer-wise pretraining, BCE) is the pipeline's, configured upstream.

Why ``fit`` does not use the autoencoder it is given: in the paper the single autoencoder
exists only to produce the k-means start ("in the pre-training procedure a *single*
autoencoder is trained on the entire database"); the k experts are separate networks with
their own architecture (bottleneck e = k, batch norm on every hidden layer, sigmoid outputs)
pretrained from scratch on their clusters, and the clustering network reads x, not an
embedding. Initialising the experts from the shared autoencoder would be another method. So
the autoencoder enters through ``init`` only; the networks are in ``models/damic.py``.

Architecture (Sec. 3.4): experts d-1024-256-e-256-1024-d with e = k (the paper's
"1024, 256, k, 256, 1024"; ``embedding_dim`` overrides it), clustering network d-512-512
followed by the k-way softmax; ReLU on every hidden layer (the bottleneck included), batch norm
on every hidden layer (Linear → BatchNorm → ReLU; none on the output layers), sigmoid expert
outputs. Adam (lr 0.001, Keras' default: the paper gives none), batch 256, 50 epochs per phase.
For its synthetic data the paper lists a "512, 512, 2" clustering network and plots a 2-D h(x)
(Fig. 2e): ``classifier_hidden: [512, 512, 2]`` (with batch norm and ReLU on that 2-D layer;
measured against the default in docs/results.md).

Readings and deviations:

- Sigmoid outputs assume data in [0, 1] (the paper normalises all data so). ``output="auto"``
  uses sigmoid when X lies in [0, 1] and a linear output otherwise (e.g. tf-idf rows scaled to
  ‖x‖²/d ≈ 1); expert pretraining uses binary cross-entropy (mean over features, as the paper
  and Keras) with sigmoid outputs and the MSE with linear outputs.
- Expert pretraining: all k experts train in one phase on full mini-batches, expert i's loss
  being its mean over the batch's points of cluster i. The gradients are the paper's (expert i
  learns from cluster i only), but the batch-norm statistics come from all points, as they do
  in the joint phase (the paper's separate per-cluster training would normalise with cluster
  statistics and then meet all points in the joint phase).
- Early stopping ("to prevent mis-convergence of the loss"; no criterion given): a phase stops
  when its epoch-mean training loss has not fallen below (1 − ``min_delta``) × its best for
  ``patience`` epochs (no validation split: clustering has no held-out labels).
- A batch size that would leave a last batch of one sample (batch norm needs two) is raised
  by one.
- New networks are initialised by torch's default rules under a seed drawn from ``generator``
  (the global RNG is left as it was).

What we measured with it (on the synthetic data of Eq. 8 it keeps its initial partition, and
why: ``scripts/damic_synthetic.py``) is in docs/results.md, "Measurements behind the methods'
readings".
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    fraction_changed,
)
from deepclust.models.autoencoder import FeedforwardAutoencoder
from deepclust.models.damic import ClusteringNetwork, Experts
from deepclust.params import batch_size_param, lr_param, param
from deepclust.training import Checkpointer, Objective, TrainingState, make_optimizer, train

log = logging.getLogger("deepclust")


@dataclass(frozen=True)
class DAMICParams:
    # expert encoder widths, decoder mirrored (Sec. 3.4)
    hidden: tuple[int, ...] = param(
        (1024, 256),
        ge=1,
        doc="each expert autoencoder's encoder widths, decoder mirrored (paper 1024, 256)",
    )
    # expert bottleneck e; None = k, as the paper
    embedding_dim: int | None = param(
        None, ge=1, doc="expert bottleneck; null = the number of clusters k (the paper)"
    )
    # clustering network h(x) (Sec. 3.4)
    classifier_hidden: tuple[int, ...] = param(
        (512, 512),
        ge=1,
        doc="hidden widths of the clustering network before its k-way softmax (512, 512)",
    )
    batch_norm: bool = param(True)  # "on all layers" (Sec. 3.4)
    # expert output: sigmoid (paper), linear, auto (sigmoid iff X in [0,1])
    output: str = param(
        "auto",
        choices=("auto", "sigmoid", "linear"),
        doc="expert output: sigmoid (data in [0, 1]), linear, auto (sigmoid iff X in [0, 1])",
    )
    pretrain_epochs: int = param(50, ge=1)  # per pretraining phase (Sec. 3.4: 50 epochs per phase)
    epochs: int = param(50, ge=1)  # joint phase (Sec. 3.4)
    # early stopping: epochs without improvement; 0 = off (ours)
    patience: int = param(5, ge=0, doc="early stopping; 0 = off")
    min_delta: float = param(0.001, ge=0, lt=1)  # relative improvement that counts (ours)
    batch_size: int = batch_size_param()  # Sec. 3.4
    lr: float = lr_param(0.001)  # Adam (Sec. 3.4); Keras' default rate


FAST = {
    "hidden": (256, 64),
    "classifier_hidden": (256, 256),
    "pretrain_epochs": 15,
    "epochs": 20,
}
TINY = {  # h(x), the embedding, 3 wide like a tiny autoencoder's
    "hidden": (16, 8),
    "classifier_hidden": (16, 3),
    "pretrain_epochs": 2,
    "epochs": 2,
    "batch_size": 32,
}


def mixture_loss(log_p: torch.Tensor, dist: torch.Tensor) -> torch.Tensor:
    """Eq. 3, averaged over the batch: −log Σ_i p(c=i|x) exp(−d_i), from log p and d (n, k)."""
    return -torch.logsumexp(log_p - dist, dim=1).mean()


def reconstruction_distances(x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """d(x, f_i(x)) = ½‖x − f_i(x)‖² (Sec. 2) for every expert: (n, d), (n, k, d) → (n, k)."""
    return 0.5 * (recon - x[:, None, :]).pow(2).sum(dim=2)


def expert_pretrain_loss(
    x: torch.Tensor, recon: torch.Tensor, labels: torch.Tensor, sigmoid: bool
) -> torch.Tensor:
    """Σ_i (mean over the batch's points of cluster i of expert i's reconstruction loss):
    BCE with sigmoid outputs, MSE with linear ones (both averaged over features)."""
    target = x[:, None, :].expand_as(recon)
    if sigmoid:
        per = F.binary_cross_entropy(recon, target, reduction="none").mean(dim=2)
    else:
        per = F.mse_loss(recon, target, reduction="none").mean(dim=2)
    member = F.one_hot(labels, recon.shape[1]).to(per.dtype)
    return ((per * member).sum(dim=0) / member.sum(dim=0).clamp(min=1)).sum()


def _sigmoid_output(X: torch.Tensor, output: str) -> bool:
    if output == "auto":
        return bool(X.min() >= 0 and X.max() <= 1)
    if output in ("sigmoid", "linear"):
        return output == "sigmoid"
    raise ValueError(f"algorithms.damic: unknown output '{output}'; known: auto, sigmoid, linear")


@torch.no_grad()
def _evaluate(
    fn: Callable[[torch.Tensor], torch.Tensor], net: nn.Module, X: torch.Tensor
) -> torch.Tensor:
    """``fn`` on all of ``X`` in evaluation mode, batch by batch."""
    was_training = net.training
    net.eval()
    out = torch.cat([fn(X[i : i + 4096]) for i in range(0, len(X), 4096)])
    net.train(was_training)
    return out


@dataclass
class JointLabels(TrainingState):
    """The joint phase's labels (Eq. 2 per sample, in training mode) and those at the start of
    the epoch, for ``delta_label``."""

    labels: torch.Tensor
    epoch_start_labels: torch.Tensor


@dataclass
class PhaseState(TrainingState):
    """What a phase's callbacks keep between steps: its networks (for their batch-norm
    statistics, which the optimiser does not hold), the joint phase's labels, and for early
    stopping the epoch's loss so far, the best epoch-mean loss and the epochs since it."""

    networks: nn.ModuleDict
    joint: JointLabels | None = None
    epoch_loss: float = 0.0
    best: float = math.inf
    wait: int = 0


def _run_phase(
    batch_loss: Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]],
    networks: dict[str, nn.Module],
    X: torch.Tensor,
    params: DAMICParams,
    batch_size: int,
    epochs: int,
    *,
    generator: torch.Generator,
    progress: bool,
    checkpointer: Checkpointer | None,
    desc: str,
    joint: JointLabels | None = None,
    epoch_metrics: Callable[[], dict] | None = None,
) -> list[dict]:
    """One ``train`` call: Adam on ``networks``' parameters, with early stopping on the
    epoch-mean loss; ``epoch_metrics`` adds a history row at every epoch boundary."""
    steps_per_epoch = math.ceil(len(X) / batch_size)
    state = PhaseState(nn.ModuleDict(networks), joint)

    def tracked_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = batch_loss(x, idx)
        state.epoch_loss += float(terms["loss"].detach())
        return terms

    def before_step(step: int) -> dict | None:
        if step == 0 or step % steps_per_epoch:
            return None
        info = epoch_metrics() if epoch_metrics is not None else {}
        loss, state.epoch_loss = state.epoch_loss / steps_per_epoch, 0.0
        if loss < state.best * (1 - params.min_delta):
            state.best, state.wait = loss, 0
        else:
            state.wait += 1
        if params.patience and state.wait >= params.patience:
            objective.stop = True
            log.info(
                "%s: early stop after epoch %d (loss %.4g)", desc, step // steps_per_epoch, loss
            )
        return info or None

    trained = [p for m in networks.values() for p in m.parameters()]
    objective = Objective(batch_loss=tracked_loss, before_step=before_step, state=state)
    return train(
        objective,
        X,
        make_optimizer(trained, "adam", params.lr),
        batch_size=batch_size,
        max_steps=epochs * steps_per_epoch,
        generator=generator,
        desc=desc,
        progress=progress,
        checkpointer=checkpointer,
    )


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: DAMICParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    """Pretrain the clustering network and the experts from the k-means labels, then train
    them jointly on Eq. 3. ``autoencoder`` is not used: as in the paper, the shared
    autoencoder enters only through its k-means labels ``init`` (module docstring)."""
    n, d = X.shape
    k = len(init.centers)
    sigmoid = _sigmoid_output(X, params.output)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**62, (), generator=generator)))
        classifier = ClusteringNetwork(d, tuple(params.classifier_hidden), k, params.batch_norm)
        experts = Experts.for_params(d, k, params, sigmoid)
    classifier, experts = classifier.to(X.device).train(), experts.to(X.device).train()
    km_labels = torch.as_tensor(init.labels, device=X.device)
    batch_size = min(params.batch_size, n)
    batch_size += n % batch_size == 1  # batch norm cannot normalise a batch of one

    def classifier_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": F.cross_entropy(classifier(x), km_labels[idx])}

    def expert_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": expert_pretrain_loss(x, experts(x), km_labels[idx], sigmoid)}

    joint = JointLabels(km_labels.clone(), epoch_start_labels=km_labels.clone())

    def joint_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        log_p = F.log_softmax(classifier(x), dim=1)
        dist = reconstruction_distances(x, experts(x))
        labels = log_p.detach().argmax(dim=1)
        joint.labels[idx] = labels  # Eq. 2 in training mode, for delta_label
        agreement = (labels == dist.detach().argmin(dim=1)).to(x.dtype).mean()  # Eq. 2 vs 6
        return {"loss": mixture_loss(log_p, dist), "agreement": agreement}

    def joint_metrics() -> dict:
        delta, n_changed = fraction_changed(joint.labels, joint.epoch_start_labels)
        joint.epoch_start_labels.copy_(joint.labels)
        return {"delta_label": delta, "n_changed": n_changed}

    history: list[dict] = []

    def phase(name: str, loss, networks: dict[str, nn.Module], epochs: int, **extra) -> None:
        """Run one phase; its rows continue the step and epoch count of the previous ones, and
        a pretraining phase's loss becomes the column ``pretrain_<name>``."""
        rows = _run_phase(
            loss, networks, X, params, batch_size, epochs, generator=generator,
            progress=progress, checkpointer=checkpointer, desc=f"damic {name}", **extra,
        )  # fmt: skip
        step, epoch = (history[-1]["step"], history[-1]["epoch"]) if history else (0, 0)
        column = "loss" if name == "joint" else f"pretrain_{name}"
        for row in rows:
            row = {**row, "step": row["step"] + step, "epoch": row["epoch"] + epoch}
            history.append({column if key == "loss" else key: v for key, v in row.items()})

    phase("classifier", classifier_loss, {"classifier": classifier}, params.pretrain_epochs)
    phase("experts", expert_loss, {"experts": experts}, params.pretrain_epochs)
    phase(
        "joint",
        joint_loss,
        {"classifier": classifier, "experts": experts},
        params.epochs,
        joint=joint,
        epoch_metrics=joint_metrics,
    )

    labels = _evaluate(lambda x: classifier(x).argmax(dim=1), classifier, X)
    h = _evaluate(classifier.body, classifier, X)
    return ClusteringResult(
        labels=labels.cpu().numpy(),
        embedding=h.cpu().numpy(),
        centers=None,
        history=history,
        state={
            "classifier": classifier.state_dict(),
            "experts": experts.state_dict(),
            "output": "sigmoid" if sigmoid else "linear",
        },
    )


ALGORITHM = Algorithm(
    name="damic",
    family="simultaneous",
    params=DAMICParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
)
