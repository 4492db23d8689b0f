"""ACAI pretraining, DynAE's (paper 003, Sec. 3.1, Eq. 1-2; Berthelot et al. 2018, "ACAI").

``autoencoders.<name>.pretraining: acai``. Each step takes a batch x, encodes it (z = f(x)),
mixes each embedding with its partner in the reversed batch, z_α = α z_i + (1 − α) z_{n−1−i},
and decodes the mixture, x̂_α = g(z_α). A critic c regresses α from x̂_α while the autoencoder
learns to make it answer 0 (the interpolant "looks real"):

- autoencoder (Eq. 1): L_0 = ‖v(x) − v(x̂)‖² + λ ‖c(v(x̂_α))‖²;
- critic (Eq. 2): L_c = ‖c(v(x̂_α)) − α‖² + ‖c(v(γ x + (1 − γ) x̂))‖², whose second term makes
  the critic answer 0 on (a mix of) the data and its reconstruction;

v(t) = 2t − 1 is the [−1, 1] view of our [0, 1] data (see "Scale" below), so the first term is
4 MSE(x, x̂). The history logs ``reconstruction`` = MSE(x, x̂) in the data's own units (as every
other pretraining does), ``adversarial`` = mean c(v(x̂_α))² and ``loss`` = 4 ``reconstruction``
+ λ ``adversarial``.

Both losses come from the same forward pass: the loop steps the autoencoder's optimiser on L_0
and ``after_step`` steps the critic's own optimiser on L_c, which sees x̂ and x̂_α detached.
So L_0 never moves the critic and L_c never moves the autoencoder. The critic and its
optimiser are in ``Objective.state``, so checkpoints cover them; the critic is discarded after
pretraining.

Readings (the paper leaves these open; we follow Berthelot et al. and the authors' code):

- The critic has the encoder's architecture (a fresh network of the same configuration) and
  averages its embedding into one number per sample (Berthelot et al.; the authors' code
  builds the same MLP with ``reduce_mean``). It uses the autoencoder's optimiser and
  learning rate.
- α is drawn per pair uniformly in [0, 0.5]. The paper says [0, 1]; mixing a pair with α or
  with 1 − α gives the same kind of point, so the critic could not regress α on [0, 1], which
  is why Berthelot et al. fold it into [0, 0.5]. (The authors' code draws α in [0, 1].)
- γ: ``acai_gamma: null`` (the default) draws it uniformly in [0, 1] at each step, as the
  paper says; a number fixes it (Berthelot et al. use 0.2; the authors' code draws it per step
  in [0, 0.5]). λ = ``acai_lambda`` = 0.5 (Sec. 4.3).
- Reductions as in both codes: ‖x − x̂‖² is the mean over features and batch (Keras ``mse``),
  the critic terms are means over the batch; Eq. 1-2 write sums.
- Scale: every term sees images in [−1, 1], as in Berthelot et al.'s reference code, where the
  λ = 0.5 that DynAE takes "according to their original papers" was set (brain-research/acai
  ``lib/data.py`` ``_parser_all``: bytes · 2/255 − 1; ``acai.py`` logs √loss_ae · 127.5 as the
  pixel RMSE). Our data are in [0, 1], so the terms use v(t) = 2t − 1 of x, x̂, x̂_α (the
  autoencoder itself still reads and writes [0, 1]). Relative to λ this makes the
  reconstruction term 4× larger than on [0, 1]. On [0, 1] (what the authors' Keras code feeds)
  the critic term wins on MNIST-test and stalls the reconstruction (measured in
  docs/results.md, "Measurements behind the methods' readings").
- The authors' Keras code (nairouz/DynAE ``DynAE.py``) never trains its critic: its
  ``aci_ae_constructor`` sets ``critic.trainable = False`` in ``DynAE.__init__``, before the
  notebook compiles ``disc``, so (by tf.keras 1.x rules: weights are collected at compile, a
  non-trainable sub-model contributes none, and ``TFOptimizer.get_updates`` with no weights
  only counts iterations) the critic keeps its random initialisation. Their pretraining is
  thus MSE + augmentation + λ c(x̂_α)² for a fixed random c. We train the critic, as Eq. 2 says.
- With ``augment: true`` x is the randomly shifted and rotated batch ("x represents the data
  after performing the random transformations"): input and target alike, not an extra term as
  in the end-to-end mode's Eq. 20.

DynAE's settings (Sec. 4.3): Adam, lr 0.0001, batch 256, 13·10⁴ iterations (≈ 475 MNIST epochs),
d-500-500-2000-10, augmentation on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deepclust.models.autoencoder import Autoencoder, from_config
from deepclust.models.params import autoencoder_params
from deepclust.training import (
    Checkpointer,
    Objective,
    TrainingState,
    make_optimizer,
    pretraining_steps,
    train,
)

# v(t) = a t + b, the [−1, 1] view of [0, 1] data in which Berthelot et al. compute every term
VIEW = (2.0, -1.0)
IDENTITY = (1.0, 0.0)


class Critic(nn.Module):
    """c(x): the encoder half of ``body`` (an untrained autoencoder of the same configuration),
    its embedding averaged into one number per sample."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        body.decoder = None  # the critic only encodes
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body.encode(x).mean(dim=1)


def mix(z: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """z_α: row i is α_i z_i + (1 − α_i) z_{n−1−i} (each sample with its partner in the
    reversed batch, as in Berthelot et al.'s code)."""
    a = alpha[:, None]
    return a * z + (1 - a) * z.flip(0)


def acai_losses(
    ae: Autoencoder,
    critic: Critic,
    x: torch.Tensor,
    alpha: torch.Tensor,
    gamma: float,
    lam: float,
    *,
    view: tuple[float, float] = IDENTITY,
) -> dict[str, torch.Tensor]:
    """Eq. 1 (``loss`` = a² ``reconstruction`` + λ ``adversarial``, for the autoencoder) and
    Eq. 2 (``critic``, computed on detached reconstructions so that it trains the critic only),
    every term on the view v(t) = a t + b, ``view`` = (a, b); ``reconstruction`` is MSE(x, x̂)
    in the data's units, so a² of it is MSE(v(x), v(x̂))."""
    a, b = view
    z = ae.encode(x)
    x_hat = ae.decode(z)
    x_alpha = ae.decode(mix(z, alpha))
    reconstruction = F.mse_loss(x_hat, x)
    adversarial = critic(a * x_alpha + b).pow(2).mean()
    regress = (critic(a * x_alpha.detach() + b) - alpha).pow(2).mean()
    real = critic(a * (gamma * x + (1 - gamma) * x_hat.detach()) + b).pow(2).mean()
    return {
        "loss": a * a * reconstruction + lam * adversarial,
        "reconstruction": reconstruction,
        "adversarial": adversarial,
        "critic": regress + real,
    }


@dataclass
class CriticState(TrainingState):
    """The critic and its optimiser: trained in ``after_step``, not by the loop's optimiser."""

    critic: Critic
    critic_optimizer: torch.optim.Optimizer


def acai_objective(
    ae: Autoencoder,
    critic: Critic,
    critic_optimizer: torch.optim.Optimizer,
    *,
    lam: float,
    gamma: float | None,
    augment: Callable[[torch.Tensor], torch.Tensor] | None,
    generator: torch.Generator,
    view: tuple[float, float] = IDENTITY,
) -> Objective:
    """The loop's objective: ``batch_loss`` gives Eq. 1's terms (and the critic's loss, logged),
    ``after_step`` steps the critic on Eq. 2, both on ``view`` (see ``acai_losses``). α, γ and
    the augmentation come from ``generator``."""
    pending: dict[str, torch.Tensor] = {}  # the critic's loss, between batch_loss and after_step

    def batch_loss(x: torch.Tensor, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        if augment is not None:
            x = augment(x)
        alpha = 0.5 * torch.rand(len(x), generator=generator, device=generator.device)
        g = gamma
        if g is None:
            g = float(torch.rand((), generator=generator, device=generator.device))
        terms = acai_losses(ae, critic, x, alpha.to(x.device, x.dtype), g, lam, view=view)
        pending["critic"] = terms["critic"]
        return terms

    def after_step(x: torch.Tensor, idx: torch.Tensor) -> None:
        critic_optimizer.zero_grad(set_to_none=True)  # also drops the grads L_0 left there
        pending.pop("critic").backward()
        critic_optimizer.step()

    return Objective(
        batch_loss=batch_loss,
        after_step=after_step,
        state=CriticState(critic, critic_optimizer),
    )


def pretrain_acai(
    ae: Autoencoder,
    X: torch.Tensor,
    ae_cfg: dict,
    *,
    augment: Callable[[torch.Tensor], torch.Tensor] | None,
    generator: torch.Generator,
    progress: bool = True,
    checkpointer: Checkpointer | None = None,
) -> list[dict]:
    """Train ``ae`` in place with ACAI for ``ae_cfg["epochs"]``, every term on the [−1, 1] view
    of the [0, 1] data (``VIEW``); return the history (per epoch: ``loss``, ``reconstruction``,
    ``adversarial``, ``critic``)."""
    cfg = autoencoder_params(ae_cfg)
    critic = Critic(from_config(ae_cfg, X.shape[1], ae.image_shape)).to(X.device)
    optimizer = make_optimizer(ae.parameters(), cfg.optimizer, cfg.lr, cfg.momentum)
    critic_optimizer = make_optimizer(critic.parameters(), cfg.optimizer, cfg.lr, cfg.momentum)
    objective = acai_objective(
        ae,
        critic,
        critic_optimizer,
        lam=cfg.acai_lambda,
        gamma=cfg.acai_gamma,
        augment=augment,
        generator=generator,
        view=VIEW,
    )
    batch_size = min(cfg.batch_size, len(X))
    return train(
        objective,
        X,
        optimizer,
        batch_size=batch_size,
        max_steps=pretraining_steps(vars(cfg), len(X), batch_size),
        generator=generator,
        desc="pretrain acai",
        progress=progress,
        precision=cfg.precision,
        checkpointer=checkpointer,
    )
