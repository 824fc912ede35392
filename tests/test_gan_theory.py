"""The seed paper's theory, checked in code: the optimal discriminator, the value of the game at it,
and the vanishing generator gradient of the minimax loss that the non-saturating loss avoids."""

import math
from functools import partial

import lightning as L
import pytest
import torch
from torch import nn

from zoo import GANModule
from zoo.data import ToyMixture
from zoo.metrics.optimal_discriminator import discriminator_gap, kde_log_prob, optimal_discriminator
from zoo.modules.gan_losses import discriminator_loss, generator_loss, gradient_penalty, zero_centred_penalty
from zoo.nets import MLPEncoder

GENERATOR_LOC, GENERATOR_SCALE = 0.5, 1.5


class AffineGenerator(nn.Module):
    """G(z) = loc + scale * z, so p_G = N(loc, scale^2) is known exactly."""

    def __init__(self, image_shape, latent_dim, num_classes=0):
        super().__init__()
        self.linear = nn.Linear(latent_dim, 1)
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.weight[0, 0] = GENERATOR_SCALE
            self.linear.bias.fill_(GENERATOR_LOC)

    def forward(self, z, labels=None):
        return self.linear(z)


def generator_log_prob(x: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Normal(GENERATOR_LOC, GENERATOR_SCALE).log_prob(x).squeeze(-1)


@pytest.fixture(scope="module")
def trained_discriminator():
    """A GAN on the 1-D bimodal mixture whose generator is frozen (learning rate 0): only D learns."""
    torch.manual_seed(0)
    data = ToyMixture("bimodal", num_train=100_000, batch_size=1000)
    gan = GANModule(AffineGenerator, partial(MLPEncoder, hidden=[64, 64]),
                    image_shape=(1,), latent_dim=1, objective="minimax", output_activation="identity",
                    generator_optimizer=partial(torch.optim.SGD, lr=0.0),
                    discriminator_optimizer=partial(torch.optim.Adam, lr=3e-3))
    trainer = L.Trainer(max_epochs=8, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, data)
    return gan.eval(), data


def mixture_points(data: ToyMixture, n: int = 4000) -> torch.Tensor:
    """Points from (p_data + p_G) / 2, where the discriminator's answer matters."""
    generator = torch.Generator().manual_seed(1)
    real, _ = data.sample(n // 2, generator)
    fake = GENERATOR_LOC + GENERATOR_SCALE * torch.randn(n // 2, 1, generator=generator)
    return torch.cat([real, fake])


@pytest.mark.slow
def test_generator_was_frozen(trained_discriminator):
    gan, _ = trained_discriminator
    assert gan.generator.linear.weight[0, 0].item() == GENERATOR_SCALE
    assert gan.generator_iterations.item() == 800  # 8 epochs of 100 batches


@pytest.mark.slow
def test_training_the_discriminator_drives_it_to_the_optimum(trained_discriminator):
    gan, data = trained_discriminator
    x = mixture_points(data)
    with torch.no_grad():
        d = torch.sigmoid(gan.discriminate(x))
    exact = optimal_discriminator(data.log_prob(x), generator_log_prob(x))
    assert discriminator_gap(d, exact) < 0.03
    # the same check with p_G estimated from generator samples, as the metric does during training
    with torch.no_grad():
        samples = gan.sample(20_000)
    estimated = optimal_discriminator(data.log_prob(x), kde_log_prob(x, samples))
    assert discriminator_gap(d, estimated) < 0.04
    untrained = torch.full_like(d, 0.5)
    assert discriminator_gap(untrained, exact) > 0.2  # the tolerance separates trained from untrained


@pytest.mark.slow
def test_value_of_the_game_at_the_optimum_is_minus_log4_plus_2_jsd(trained_discriminator):
    gan, data = trained_discriminator
    grid = torch.linspace(-8, 8, 200_001)[:, None]
    dx = float(grid[1] - grid[0])
    p_data, p_gen = data.log_prob(grid).exp(), generator_log_prob(grid).exp()
    mixture = (p_data + p_gen) / 2
    kl = lambda p, q: float((p * (p / q).log()).nan_to_num().sum() * dx)  # noqa: E731
    jsd = 0.5 * kl(p_data, mixture) + 0.5 * kl(p_gen, mixture)
    # V(D*, G) by Monte Carlo through the module's own loss: V = -discriminator_loss at D*'s logits
    generator = torch.Generator().manual_seed(2)
    real, _ = data.sample(400_000, generator)
    fake = GENERATOR_LOC + GENERATOR_SCALE * torch.randn(400_000, 1, generator=generator)
    logit_star = lambda x: data.log_prob(x) - generator_log_prob(x)  # noqa: E731
    value_at_optimum = -float(discriminator_loss(logit_star(real), logit_star(fake), "minimax"))
    assert value_at_optimum == pytest.approx(-math.log(4) + 2 * jsd, abs=5e-3)
    with torch.no_grad():  # the trained discriminator reaches (almost) the same value, and no more
        value_trained = -float(discriminator_loss(gan.discriminate(real), gan.discriminate(fake), "minimax"))
    assert value_at_optimum - 0.02 < value_trained <= value_at_optimum + 5e-3


def test_minimax_generator_gradient_vanishes_when_d_rejects_fakes_but_non_saturating_does_not():
    """G(z) = b (a point mass); a confident D with logit l(x) = -5 x - c rejects it: D(G(z)) = sigmoid(-5b - c)."""
    gradients = {"minimax": [], "non_saturating": []}
    for c in (0.0, 5.0, 10.0, 15.0):
        for objective in gradients:
            b = torch.tensor(1.0, requires_grad=True)
            logits = (-5 * b - c).expand(16)
            generator_loss(logits, objective).backward()
            gradients[objective].append(abs(b.grad.item()))
    minimax, non_saturating = gradients["minimax"], gradients["non_saturating"]
    assert minimax == sorted(minimax, reverse=True) and minimax[-1] < 1e-6  # vanishes as D(G(z)) -> 0
    assert min(non_saturating) > 4.9  # stays near |dl/db| = 5
    assert non_saturating[-1] / minimax[-1] > 1e6


@pytest.mark.parametrize("objective", ["minimax", "non_saturating", "hinge", "wasserstein", "least_squares"])
def test_objectives_are_finite_for_extreme_logits(objective):
    huge = torch.tensor([-1e4, 0.0, 1e4])
    assert torch.isfinite(discriminator_loss(huge, huge.flip(0), objective))
    assert torch.isfinite(generator_loss(huge, objective))


def test_log_losses_match_their_formulas():
    real, fake = torch.randn(64), torch.randn(64)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    torch.testing.assert_close(discriminator_loss(real, fake, "minimax"),
                               -(d_real.log().mean() + (1 - d_fake).log().mean()))
    torch.testing.assert_close(generator_loss(fake, "minimax"), (1 - d_fake).log().mean())
    torch.testing.assert_close(generator_loss(fake, "non_saturating"), -d_fake.log().mean())


def test_penalties_of_a_linear_critic():
    w = torch.tensor([[0.6, 0.8, 0.0]])  # ||w|| = 1
    critic = lambda x, labels=None: x @ w.T  # noqa: E731
    real, fake = torch.randn(32, 3), torch.randn(32, 3)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert zero_centred_penalty(lambda x, labels=None: 2 * critic(x), real).item() == pytest.approx(4.0)
