"""The loss pieces that several methods share, each defined once.

Survey = paper 000 (Leiber et al.); DEC = Xie, Girshick, Farhadi (ICML 2016). A method's own
terms (DCN's k-means term, DKM's softmax kernel, DAMIC's mixture of experts, ...) stay in its
file; what two or more methods compute identically lives here:

- ``reconstruction_loss``: the autoencoder's reconstruction, and survey Eq. 20's augmented
  form (pretraining, IDEC/DCEC, DCN, AEC, DKM);
- ``soft_assignment``: the Student-t kernel q_ij (survey Eq. 14, DEC Eq. 1; DEC, IDEC, DCEC,
  DynAE);
- ``target_distribution``: DEC's sharpened target p_ij (survey Eq. 15, DEC Eq. 3);
- ``kl_divergence``: KL(P‖Q) (survey Eq. 16, DEC Eq. 2), and survey Eq. 24's augmented form.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def reconstruction_loss(
    decode: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    z: torch.Tensor,
    x_aug: torch.Tensor | None = None,
    z_aug: torch.Tensor | None = None,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.mse_loss,
) -> torch.Tensor:
    """distance(dec(z), x), by default the MSE averaged over features and batch (Keras' ``mse``
    as in the DEC/IDEC code); with the augmented copy x^A and its embedding z^A, survey Eq. 20:
    ½(distance(dec(z), x) + distance(dec(z^A), x^A)). ``distance(x̂, x)``: DKM passes its own
    (summed over features)."""
    loss = distance(decode(z), x)
    if x_aug is None:
        return loss
    return 0.5 * (loss + distance(decode(z_aug), x_aug))


def soft_assignment(z: torch.Tensor, centers: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Survey Eq. 14: q_ij ∝ (1 + ‖z_i − μ_j‖² / α)^(−(α+1)/2), normalised over j.

    The survey prints the kernel with α = 1 folded in; Xie et al. Eq. 1 divides by α.
    """
    dist2 = torch.cdist(z, centers).pow(2)
    q = (1.0 + dist2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """Survey Eq. 15: p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j'), with f_j = Σ_i q_ij."""
    weight = q.pow(2) / q.sum(dim=0)
    return weight / weight.sum(dim=1, keepdim=True)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Survey Eq. 16: KL(P‖Q) = (1/|B|) Σ_i Σ_j p_ij log(p_ij / q_ij), summed over clusters and
    averaged over the batch (Keras' ``kld`` as in DEC-keras)."""
    return (torch.xlogy(p, p) - p * torch.log(q)).sum(dim=1).mean()


def augmented_kl_divergence(p: torch.Tensor, q: torch.Tensor, q_aug: torch.Tensor) -> torch.Tensor:
    """Survey Eq. 24: ½(KL(P‖Q) + KL(P‖Q^A)), with q_aug the soft assignment of the augmented
    samples (Eq. 25) and p the target of the original ones."""
    return 0.5 * (kl_divergence(p, q) + kl_divergence(p, q_aug))
