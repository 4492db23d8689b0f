"""VaDE: Variational Deep Embedding (Jiang, Zheng, Tan, Tang, Zhou, IJCAI 2017).

Generative (survey, paper 000, Sec. 3: "learn the parameters of a distribution and sample
from that distribution to get a representation"; DynAE's Table 3, paper 003, compares with
it). A variational autoencoder whose prior is a Gaussian mixture: c ~ Cat(π),
z | c ~ N(μ_c, diag σ²_c), x | z from the decoder; the encoder gives q(z | x) =
N(μ̃, diag σ̃²) and q(c | x) is approximated by γ_c = p(c | z) = π_c N(z; μ_c, σ²_c) /
Σ_c' π_c' N(z; μ_c', σ²_c'). Per sample the loss is the negative evidence lower bound

    α Σ_f (x_f − x̂_f)²
    + ½ Σ_c γ_c Σ_j [log σ²_cj + σ̃²_j/σ²_cj + (μ̃_j − μ_cj)²/σ²_cj]
    − ½ Σ_j (1 + log σ̃²_j) − Σ_c γ_c log π_c + Σ_c γ_c log γ_c,

with one reparametrised sample z = μ̃ + σ̃ ⊙ ε (ε from the run's generator) for x̂ = dec(z)
and γ, averaged over the batch: the form of the authors' code (github.com/slim1017/VaDE,
``VaDE.py``, ``vae_loss``; the paper itself is not available here), without its constant
term. The encoder, the decoder and the mixture (π, μ, σ²) are trained together by Adam.
Labels: argmax_c γ_c at z = μ̃.

Pretraining: VaDE starts from an ordinary autoencoder (the authors load a pretrained stacked
autoencoder into the μ̃ branch and the decoder), which is the shared pretrained autoencoder
here: μ̃ is its encoder, log σ̃² a new linear layer on the encoder's last hidden layer, and the
mixture starts from a diagonal Gaussian mixture (scikit-learn, EM) fitted to μ̃ of all data,
as in the authors' code for MNIST. So VaDE needs no pretraining kind of its own.

Settings from the authors' code for MNIST (the survey lists none): batch 100, 500 epochs,
Adam lr 0.002 (ε 1e-4) for the network and the mixture, multiplied by 0.9 every 10 epochs
down to 0.0002. Deviations: the code's MNIST likelihood is Bernoulli (binary cross-entropy
on a sigmoid output, α = 1); the shared autoencoder has a linear output, so the loss uses the
code's Gaussian variant (α·D·MSE, its choice for Reuters and HAR) on every dataset, with
α = 1/(2σ̂²) by default: the Gaussian log-likelihood's weight for the noise variance σ̂² that
the pretrained autoencoder leaves, its per-feature MSE on the data. The code's α = 1 means
σ² = ½, far noisier than pixels in [0, 1] reconstruct (σ̂² ≈ 0.02 on digits), so the KL term
outweighed the reconstruction and clusters merged on digits (measured in docs/results.md,
"Measurements behind the methods' readings").
π is the softmax of free logits and σ² the exponential of free log-variances (the code
trains π and σ² directly, unconstrained). The log σ̃² layer starts with zero weights and, as
bias, the mean over the components of the fitted log σ²_c, so that q(z | x) starts as wide as
an average component (the code: Keras' Glorot-uniform, zero bias, i.e. σ̃² near 1 whatever the
embedding's scale; on the tests' blobs, whose clusters are about 0.02 wide, that made the
first KL term thousands of times the reconstruction and VaDE merged all clusters into one).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import nn

from deepclust.algorithms.base import (
    Algorithm,
    ClusteringResult,
    InitialClustering,
    draw_seed,
    fraction_changed,
)
from deepclust.models.autoencoder import FeedforwardAutoencoder
from deepclust.params import batch_size_param, lr_param, param
from deepclust.training import Checkpointer, LabelState, Objective, train


@dataclass(frozen=True)
class VaDEParams:
    epochs: int = param(500, ge=1)  # authors' code, MNIST
    batch_size: int = batch_size_param(100)  # authors' code
    # Adam, network and mixture (authors' code)
    lr: float = lr_param(0.002, doc="Adam, network and mixture")
    # factor every `decay_every` epochs (authors' code, MNIST)
    lr_decay: float = param(0.9, gt=0, le=1)
    decay_every: int = param(10, ge=1, doc="epochs between lr decays")  # epochs
    min_lr: float = param(0.0002, ge=0)  # floor of the decayed lr (authors' code, MNIST)
    # reconstruction weight; None = 1/(2σ̂²) (module docstring)
    alpha: float | None = param(
        None, gt=0, doc="reconstruction weight; null = 1/(2σ̂²), σ̂² the pretrained autoencoder's MSE"
    )


FAST = {"epochs": 50, "decay_every": 5}
TINY = {"epochs": 2, "batch_size": 32}


class GaussianMixturePrior(nn.Module):
    """p(c) = softmax(logits), p(z | c) = N(means_c, diag exp(log_vars_c))."""

    def __init__(self, weights: np.ndarray, means: np.ndarray, variances: np.ndarray):
        super().__init__()
        self.logits = nn.Parameter(torch.as_tensor(np.log(weights), dtype=torch.float32))
        self.means = nn.Parameter(torch.as_tensor(means, dtype=torch.float32))
        self.log_vars = nn.Parameter(torch.as_tensor(np.log(variances), dtype=torch.float32))

    def log_joint(self, z: torch.Tensor) -> torch.Tensor:
        """log π_c + log N(z; μ_c, σ²_c) for every row of z and cluster c: (n, k)."""
        diff2 = (z[:, None, :] - self.means).pow(2)
        log_normal = -0.5 * (math.log(2 * math.pi) + self.log_vars + diff2 / self.log_vars.exp())
        return torch.log_softmax(self.logits, dim=0) + log_normal.sum(dim=2)

    def responsibilities(self, z: torch.Tensor) -> torch.Tensor:
        """γ_c = p(c | z): (n, k)."""
        return torch.softmax(self.log_joint(z), dim=1)


def negative_elbo(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    mu: torch.Tensor,
    log_var: torch.Tensor,
    z: torch.Tensor,
    prior: GaussianMixturePrior,
    alpha: float,
) -> dict[str, torch.Tensor]:
    """The module docstring's loss, averaged over the batch, and its two parts."""
    rec = alpha * (x - x_hat).pow(2).sum(dim=1)
    log_gamma = torch.log_softmax(prior.log_joint(z), dim=1)  # finite where γ underflows to 0
    gamma = log_gamma.exp()
    var_c, mu_c = prior.log_vars.exp(), prior.means  # (k, m)
    per_cluster = (
        prior.log_vars + log_var.exp()[:, None, :] / var_c + (mu[:, None, :] - mu_c).pow(2) / var_c
    ).sum(dim=2)  # (n, k)
    log_pi = torch.log_softmax(prior.logits, dim=0)
    kl = (
        0.5 * (gamma * per_cluster).sum(dim=1)
        - 0.5 * (1 + log_var).sum(dim=1)
        - (gamma * log_pi).sum(dim=1)
        + (gamma * log_gamma).sum(dim=1)
    )
    return {"loss": (rec + kl).mean(), "reconstruction": rec.mean(), "kl": kl.mean()}


@torch.no_grad()
def noise_variance(ae: FeedforwardAutoencoder, X: torch.Tensor, batch_size: int = 4096) -> float:
    """σ̂²: the autoencoder's mean squared reconstruction error per feature on ``X``."""
    total = sum(float((ae(x) - x).pow(2).sum()) for x in torch.split(X, batch_size))
    return total / X.numel()


def fit(
    autoencoder: FeedforwardAutoencoder,
    X: torch.Tensor,
    init: InitialClustering,
    params: VaDEParams,
    *,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> ClusteringResult:
    ae = copy.deepcopy(autoencoder).train()
    k = len(init.centers)
    hidden, mean_layer = ae.encoder[:-1], ae.encoder[-1]

    @torch.no_grad()
    def means_of_all() -> torch.Tensor:
        return torch.cat([ae.encode(X[i : i + 4096]) for i in range(0, len(X), 4096)])

    mixture = GaussianMixture(k, covariance_type="diag", random_state=draw_seed(generator))
    mixture.fit(means_of_all().cpu().numpy().astype(np.float64))
    prior = GaussianMixturePrior(mixture.weights_, mixture.means_, mixture.covariances_)
    prior.to(X.device)
    log_var_layer = nn.Linear(mean_layer.in_features, mean_layer.out_features)
    with torch.no_grad():  # q(z | x) starts as wide as the mixture's components on average
        log_var_layer.weight.zero_()
        log_var_layer.bias.copy_(prior.log_vars.mean(dim=0))
    log_var_layer.to(device=X.device, dtype=X.dtype)
    alpha = params.alpha if params.alpha is not None else 1 / (2 * noise_variance(ae, X))
    optimizer = torch.optim.Adam(
        [*ae.parameters(), *log_var_layer.parameters(), *prior.parameters()],
        lr=params.lr,
        eps=1e-4,
    )
    batch_size = min(params.batch_size, len(X))
    steps_per_epoch = -(-len(X) // batch_size)

    def labels_now() -> torch.Tensor:
        with torch.no_grad():
            return prior.responsibilities(means_of_all()).argmax(dim=1)

    state = LabelState(labels_now())

    def before_step(step: int) -> dict | None:
        if step % steps_per_epoch:
            return None
        epoch = step // steps_per_epoch
        lr = max(params.lr * params.lr_decay ** (epoch // params.decay_every), params.min_lr)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if step == 0:
            return None
        labels = labels_now()
        delta, n_changed = fraction_changed(labels, state.labels)
        state.labels = labels
        return {"delta_label": delta, "n_changed": n_changed, "lr": lr}

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        h = hidden(x)
        mu, log_var = mean_layer(h), log_var_layer(h)
        eps = torch.randn(mu.shape, generator=generator, device=generator.device)
        z = mu + torch.exp(0.5 * log_var) * eps.to(mu)
        return negative_elbo(x, ae.decode(z), mu, log_var, z, prior, alpha)

    max_steps = params.epochs * steps_per_epoch
    history = train(
        Objective(batch_loss=batch_loss, before_step=before_step, state=state),
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=max_steps,
        generator=generator,
        desc="vade",
        progress=progress,
        checkpointer=checkpointer,
    )
    history.append({"step": max_steps, "reconstruction_weight": alpha})
    z = means_of_all()
    labels = labels_now()
    means = prior.means.detach().cpu()
    return ClusteringResult(
        labels=labels.cpu().numpy(),
        embedding=z.cpu().numpy(),
        centers=means.numpy(),
        history=history,
        state={
            "autoencoder": ae.state_dict(),
            "log_var_layer": log_var_layer.state_dict(),
            "mixture_weights": torch.softmax(prior.logits.detach(), dim=0).cpu(),
            "mixture_means": means,
            "mixture_variances": prior.log_vars.detach().exp().cpu(),
        },
    )


ALGORITHM = Algorithm(
    name="vade",
    family="generative",
    params=VaDEParams,
    fit=fit,
    presets={"fast": FAST, "tiny": TINY},
    init="none",
)
