import math

import pytest
import torch

from deepclust.models.acai import Critic, acai_losses, acai_objective, mix
from deepclust.models.autoencoder import FeedforwardAutoencoder
from deepclust.models.pretrain import pretrain
from deepclust.training import make_optimizer


def linear_ae(encoder_scale: float, decoder_scale: float) -> FeedforwardAutoencoder:
    """A 2-2 autoencoder with z = encoder_scale · x and x̂ = decoder_scale · z."""
    ae = FeedforwardAutoencoder([2, 2])
    with torch.no_grad():
        for layer, scale in ((ae.encoder[0], encoder_scale), (ae.decoder[0], decoder_scale)):
            layer.weight.copy_(scale * torch.eye(2))
            layer.bias.zero_()
    return ae


def first_coordinate_critic() -> Critic:
    """c(x) = x_1: a 2-1 encoder whose one-dimensional embedding is averaged."""
    critic = Critic(FeedforwardAutoencoder([2, 1]))
    with torch.no_grad():
        critic.body.encoder[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
        critic.body.encoder[0].bias.zero_()
    return critic


def test_mix_pairs_each_row_with_its_partner_in_the_reversed_batch():
    z = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    out = mix(z, torch.tensor([0.25, 0.5, 0.0]))
    expected = torch.tensor([[4.0, 5.0], [3.0, 4.0], [1.0, 2.0]])  # 0.25 z0 + 0.75 z2, ...
    assert torch.allclose(out, expected)


def test_eq1_and_eq2_hand_values():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    ae, critic = linear_ae(1.0, 2.0), first_coordinate_critic()  # x̂ = 2x, c(x) = x_1
    terms = acai_losses(ae, critic, x, torch.tensor([0.25, 0.5]), gamma=0.25, lam=0.5)
    # x̂_α = 2·(0.25 x0 + 0.75 x1, 0.5 x1 + 0.5 x0) = ((5, 7), (4, 6)), so c(x̂_α) = (5, 4)
    assert terms["reconstruction"].item() == pytest.approx((1 + 4 + 9 + 16) / 4)  # mean of x²
    assert terms["adversarial"].item() == pytest.approx((25 + 16) / 2)
    assert terms["loss"].item() == pytest.approx(7.5 + 0.5 * 20.5)
    # Eq. 2: mean (c(x̂_α) − α)² + mean c(γx + (1 − γ)x̂)², γx + (1 − γ)x̂ = 1.75 x
    regress = ((5 - 0.25) ** 2 + (4 - 0.5) ** 2) / 2
    real = (1.75**2 + 5.25**2) / 2
    assert terms["critic"].item() == pytest.approx(regress + real)


def test_eq1_and_eq2_on_the_minus_one_to_one_view():
    """Every term sees v(t) = 2t − 1 (Berthelot et al.'s [−1, 1] images); ``reconstruction``
    stays MSE(x, x̂) in the data's units, the autoencoder's loss uses 4× it."""
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    ae, critic = linear_ae(1.0, 2.0), first_coordinate_critic()
    terms = acai_losses(
        ae, critic, x, torch.tensor([0.25, 0.5]), gamma=0.25, lam=0.5, view=(2.0, -1.0)
    )
    # c(v(x̂_α)) = 2·(5, 4) − 1 = (9, 7); v(1.75 x)_1 = (2.5, 9.5)
    assert terms["reconstruction"].item() == pytest.approx(7.5)
    assert terms["adversarial"].item() == pytest.approx((81 + 49) / 2)
    assert terms["loss"].item() == pytest.approx(4 * 7.5 + 0.5 * 65)
    regress = ((9 - 0.25) ** 2 + (7 - 0.5) ** 2) / 2
    real = (2.5**2 + 9.5**2) / 2
    assert terms["critic"].item() == pytest.approx(regress + real)


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def same(module: torch.nn.Module, before: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, before[k]) for k, v in module.state_dict().items())


def test_the_autoencoder_step_leaves_the_critic_and_the_critic_step_the_autoencoder():
    torch.manual_seed(0)
    ae = FeedforwardAutoencoder([4, 8, 2])
    critic = Critic(FeedforwardAutoencoder([4, 8, 2]))
    ae_optimizer = make_optimizer(ae.parameters(), "adam", 0.01)
    critic_optimizer = make_optimizer(critic.parameters(), "sgd", 0.1)
    objective = acai_objective(
        ae, critic, critic_optimizer, lam=0.5, gamma=None, augment=None,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    x, idx = torch.rand(6, 4, generator=torch.Generator().manual_seed(1)), torch.arange(6)
    ae_before, critic_before = snapshot(ae), snapshot(critic)
    terms = objective.batch_loss(x, idx)
    names = [name for name, _ in critic.named_parameters()]
    critic_grad = torch.autograd.grad(terms["critic"], critic.parameters(), retain_graph=True)
    ae_optimizer.zero_grad()  # what the training loop does
    terms["loss"].backward()
    ae_optimizer.step()
    assert not same(ae, ae_before) and same(critic, critic_before)
    ae_after = snapshot(ae)
    objective.after_step(x, idx)
    assert same(ae, ae_after)
    # the critic's SGD step follows Eq. 2's gradient alone (none of L_0's leaks into it)
    for name, grad in zip(names, critic_grad, strict=True):
        expected = critic_before[name] - 0.1 * grad
        assert torch.allclose(critic.state_dict()[name], expected, atol=1e-6)
    assert not same(critic, critic_before)


def test_the_critic_learns_to_regress_alpha():
    """With x̂ = x, interpolants of a = (−1, 0) and b = (1, 0) lie on the segment between
    them and α = (1 − |x_1|)/2; the critic's error on it must drop clearly."""
    torch.manual_seed(0)
    ae = linear_ae(1.0, 1.0)
    critic = Critic(FeedforwardAutoencoder([2, 32, 32, 4]))
    critic_optimizer = make_optimizer(critic.parameters(), "adam", 0.02)
    objective = acai_objective(
        ae, critic, critic_optimizer, lam=0.5, gamma=None, augment=None,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    x = torch.tensor([[-1.0, 0.0]] * 8 + [[1.0, 0.0]] * 8)
    alpha = torch.linspace(0, 0.5, 16)

    def error() -> float:
        with torch.no_grad():
            return (critic(mix(x, alpha)) - alpha).abs().mean().item()

    before = error()
    for _ in range(30):  # critic steps only: the autoencoder stays fixed
        objective.batch_loss(x, torch.arange(16))
        objective.after_step(x, torch.arange(16))
    assert error() < 0.05 < before / 5


IMAGES = torch.rand(40, 16, generator=torch.Generator().manual_seed(0))  # 4×4 images
CFG = {
    "hidden": [8],
    "embedding_dim": 2,
    "epochs": 2,
    "batch_size": 16,
    "optimizer": "adam",
    "lr": 0.001,
    "pretraining": "acai",
    "augment": True,
}


def run_pretraining(**overrides):
    torch.manual_seed(0)
    return pretrain(
        {**CFG, **overrides}, IMAGES, generator=torch.Generator().manual_seed(0),
        image_shape=(1, 4, 4), progress=False,
    )  # fmt: skip


def test_acai_pretraining_runs_logs_its_terms_and_is_deterministic():
    ae, history = run_pretraining()
    assert [row["epoch"] for row in history] == [1, 2]
    for key in ("loss", "reconstruction", "adversarial", "critic"):
        assert all(math.isfinite(row[key]) for row in history)
    ae2, history2 = run_pretraining()
    assert history == history2
    assert all(torch.equal(v, ae2.state_dict()[k]) for k, v in ae.state_dict().items())
    _, history_fixed_gamma = run_pretraining(acai_gamma=0.2)
    assert history_fixed_gamma != history


def test_acai_augmentation_needs_images():
    with pytest.raises(ValueError, match="augment"):
        pretrain(CFG, IMAGES, generator=torch.Generator(), image_shape=None, progress=False)


def test_acai_pretraining_trains_on_the_view_and_the_transformed_batch():
    """Each epoch's loss is Eq. 1 on the [−1, 1] view, 4 · MSE + λ · adversarial (λ = 0.5),
    and the augmentation changes the run (x is the transformed batch)."""
    _, history = run_pretraining()
    for row in history:
        assert row["loss"] == pytest.approx(4 * row["reconstruction"] + 0.5 * row["adversarial"])
    _, plain = run_pretraining(augment=False)
    assert [r["reconstruction"] for r in plain] != [r["reconstruction"] for r in history]
