"""GAN objectives and penalties by value: the losses against their formulas (numpy, fixed logits), the gradient
penalties on critics whose input gradients are known, GANModule's discriminator loss with its penalties, and the
EMA update."""

import copy
from functools import partial

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from zoo import GANModule
from zoo.modules.gan_losses import (
    GANObjective,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    zero_centred_penalty,
)
from zoo.nets import MLPDecoder, MLPEncoder

REAL_LOGITS = np.array([-2.0, -0.5, 0.0, 0.7, 3.0, 1.2])
FAKE_LOGITS = np.array([1.5, -1.0, 0.2, -3.0, 0.9, -0.1])


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.log(1 / (1 + np.exp(-x)))


HAND_FORMULAS = {  # (discriminator loss, generator loss) of real logits r and fake logits f
    "minimax": (lambda r, f: -log_sigmoid(r).mean() - np.log(1 - 1 / (1 + np.exp(-f))).mean(),
                lambda f: np.log(1 - 1 / (1 + np.exp(-f))).mean()),
    "non_saturating": (lambda r, f: -log_sigmoid(r).mean() - np.log(1 - 1 / (1 + np.exp(-f))).mean(),
                       lambda f: -log_sigmoid(f).mean()),
    "hinge": (lambda r, f: np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean(), lambda f: -f.mean()),
    "wasserstein": (lambda r, f: f.mean() - r.mean(), lambda f: -f.mean()),
    "least_squares": (lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean(),
                      lambda f: 0.5 * ((f - 1) ** 2).mean()),
}


@pytest.mark.parametrize("objective", list(HAND_FORMULAS))
def test_objectives_match_their_formulas_on_fixed_logits(objective):
    d_formula, g_formula = HAND_FORMULAS[objective]
    real, fake = torch.from_numpy(REAL_LOGITS), torch.from_numpy(FAKE_LOGITS)
    assert discriminator_loss(real, fake, objective).item() == pytest.approx(d_formula(REAL_LOGITS, FAKE_LOGITS),
                                                                             rel=1e-12)
    assert generator_loss(fake, objective).item() == pytest.approx(g_formula(FAKE_LOGITS), rel=1e-12)


def test_wgan_gp_of_a_linear_critic_with_gradient_norm_two_is_one():
    w = torch.tensor([1.2, 0.0, -1.6])  # ||w|| = 2 everywhere: (2 - 1)^2 = 1
    critic = lambda x, labels=None: x @ w  # noqa: E731
    real, fake = torch.randn(64, 3), torch.randn(64, 3)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(1.0, abs=1e-6)
    assert zero_centred_penalty(critic, real).item() == pytest.approx(4.0, abs=1e-5)


def test_wgan_gp_evaluates_the_gradient_on_each_pairs_segment():
    """D(x) = ||x||^2 / 2 has gradient x: the gradient at x_hat is x_hat itself, so the penalty's points (and each
    point's t) can be read back and the penalty recomputed by hand."""
    seen = []

    def quadratic(x, labels=None):
        seen.append(x.detach().clone())
        return 0.5 * (x**2).sum(1)

    generator = torch.Generator().manual_seed(0)
    real, fake = torch.randn(4000, 3, generator=generator), torch.randn(4000, 3, generator=generator) + 2
    penalty = gradient_penalty(quadratic, real, fake).item()
    x_hat = seen[0].double().numpy()
    r, f = real.double().numpy(), fake.double().numpy()
    t = ((x_hat - f) * (r - f)).sum(1) / ((r - f) ** 2).sum(1)  # x_hat = t r + (1 - t) f
    np.testing.assert_allclose(x_hat, t[:, None] * r + (1 - t[:, None]) * f, atol=1e-5)  # on the segment
    assert t.min() >= 0 and t.max() <= 1
    assert np.histogram(t, bins=10, range=(0, 1))[0].min() > 4000 / 10 * 0.8  # t ~ Uniform(0, 1), one per pair
    assert penalty == pytest.approx(((np.linalg.norm(x_hat, axis=1) - 1) ** 2).mean(), rel=1e-5)


# --- GANModule: the discriminator loss it backpropagates ------------------------------------------------------------
CRITIC_WEIGHT, CRITIC_BIAS = torch.tensor([[1.2, -1.6]]), 0.3  # ||w|| = 2: GP = (2 - 1)^2 = 1, R1 = ||w||^2 = 4
FAKE_POINT = torch.tensor([0.5, -0.25])
REAL = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5], [0.3, -0.7]])


class LinearCritic(nn.Module):
    def __init__(self, image_shape, out_features, num_classes=0):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        with torch.no_grad():
            self.linear.weight.copy_(CRITIC_WEIGHT)
            self.linear.bias.fill_(CRITIC_BIAS)

    def forward(self, x, labels=None):
        return self.linear(x)


class ConstantGenerator(nn.Module):
    def __init__(self, image_shape, latent_dim, num_classes=0):
        super().__init__()
        self.point = nn.Parameter(FAKE_POINT.clone())

    def forward(self, z, labels=None):
        return self.point.expand(len(z), -1)


class RecordingGAN(GANModule):
    """Records every loss it backpropagates, with the discriminator-step counter at that moment."""

    def manual_backward(self, loss, *args, **kwargs):
        self.backpropagated.append((int(self.discriminator_steps), loss.item()))
        return super().manual_backward(loss, *args, **kwargs)


def discriminator_losses(steps: int, **kwargs) -> list[tuple[int, float]]:
    """The discriminator losses of `steps` rounds with frozen players (learning rate 0) on a fixed batch."""
    frozen = partial(torch.optim.SGD, lr=0.0)
    gan = RecordingGAN(ConstantGenerator, LinearCritic, image_shape=(2,), latent_dim=2, output_activation="identity",
                       generator_optimizer=frozen, discriminator_optimizer=frozen, **kwargs)
    gan.backpropagated = []
    trainer = L.Trainer(max_epochs=1, limit_train_batches=steps, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, DataLoader(TensorDataset(REAL.repeat(steps, 1), torch.zeros(steps * len(REAL))),
                                batch_size=len(REAL)))  # the same batch each round
    return gan.backpropagated[0::2]  # each round: the discriminator's loss, then the generator's


def critic_logits(real: torch.Tensor = REAL) -> tuple[np.ndarray, np.ndarray]:
    """The linear critic's logits on the real batch and on as many copies of the constant generator's point."""
    real_logits = (real @ CRITIC_WEIGHT.T).squeeze(1).double().numpy() + CRITIC_BIAS
    return real_logits, np.full(len(real), float(FAKE_POINT @ CRITIC_WEIGHT[0]) + CRITIC_BIAS)


def recorded_generator_loss(real: torch.Tensor, objective: str) -> float:
    """The loss of GANModule's first generator step on the real batch `real`, with the linear critic and the
    constant generator frozen (learning rate 0)."""
    frozen = partial(torch.optim.SGD, lr=0.0)
    gan = RecordingGAN(ConstantGenerator, LinearCritic, image_shape=(2,), latent_dim=2, objective=objective,
                       output_activation="identity", generator_optimizer=frozen, discriminator_optimizer=frozen)
    gan.backpropagated = []
    trainer = L.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, DataLoader(TensorDataset(real, torch.zeros(len(real))), batch_size=len(real)))
    return gan.backpropagated[1][1]  # (step, loss) of the discriminator, then of the generator


def by_hand(objective: str) -> float:
    return HAND_FORMULAS[objective][0](*critic_logits())


def test_gan_module_discriminator_loss_is_the_loss_plus_lambda_times_the_gradient_penalty():
    losses = discriminator_losses(2, objective=GANObjective("wasserstein", gradient_penalty=10.0))
    assert len(losses) == 2
    for _, loss in losses:
        assert loss == pytest.approx(by_hand("wasserstein") + 10.0 * 1.0, rel=1e-5)


def test_gan_module_adds_lazy_r1_scaled_by_its_period_on_lazy_steps_only():
    gamma, every = 0.5, 3
    losses = discriminator_losses(4, objective=GANObjective(r1_gamma=gamma, r1_every=every))
    assert [step for step, _ in losses] == [0, 1, 2, 3]
    for step, loss in losses:
        r1 = gamma / 2 * every * 4.0 if step % every == 0 else 0.0  # R1 = ||w||^2 = 4 on steps 0 and 3
        assert loss == pytest.approx(by_hand("non_saturating") + r1, rel=1e-5), step


class EMARecordingGAN(GANModule):
    def generator_step(self, *args):
        out = super().generator_step(*args)
        self.history.append((copy.deepcopy(self.generator.state_dict()),
                             copy.deepcopy(self.generator_ema.module.state_dict())))
        return out


def test_ema_moves_toward_the_live_weights_by_one_minus_decay():
    decay = 0.8
    torch.manual_seed(0)
    gan = EMARecordingGAN(partial(MLPDecoder, hidden=[8]), partial(MLPEncoder, hidden=[8]), image_shape=(2,),
                          latent_dim=2, output_activation="identity", ema_decay=decay,
                          generator_optimizer=partial(torch.optim.SGD, lr=0.5))
    gan.history = []
    trainer = L.Trainer(max_epochs=1, limit_train_batches=4, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, DataLoader(TensorDataset(torch.randn(64, 2), torch.zeros(64)), batch_size=16))
    assert len(gan.history) == 4
    live, ema = gan.history[0]
    for name in live:  # torch's AveragedModel copies the live weights on its first update
        torch.testing.assert_close(ema[name], live[name])
    for t, ((_, ema_before), (live, ema)) in enumerate(zip(gan.history, gan.history[1:], strict=False), start=1):
        decay_t = min(decay, (1 + t) / (10 + t))  # the EMA's warm-up (issue 14)
        for name in live:
            assert not torch.allclose(live[name], ema_before[name])  # the generator did move
            expected = ema_before[name] + (1 - decay_t) * (live[name] - ema_before[name])
            torch.testing.assert_close(ema[name], expected, rtol=1e-6, atol=1e-7)
