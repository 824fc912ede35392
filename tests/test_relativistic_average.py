"""The relativistic average GAN (RaSGAN; Jolicoeur-Martineau 2018): the losses against the paper's formulas written
with sigmoid and log in numpy, their invariance to a shift of every logit (only differences between real and generated
logits count, unlike the standard GAN's), and GANModule's generator step scoring its fakes against the real batch."""


import numpy as np
import pytest
import torch

from tests.test_gan_objectives import (
    FAKE_LOGITS,
    REAL,
    REAL_LOGITS,
    critic_logits,
    log_sigmoid,
    recorded_generator_loss,
)
from zoo.errors import InputError
from zoo.modules.gan_losses import discriminator_loss, generator_loss


def rasgan_losses(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """The paper's RaSGAN losses: D's  -E log D(x_r) - E log(1 - D(x_f)),  G's  -E log D(x_f) - E log(1 - D(x_r)),
    with D(x_r) = sigmoid(C(x_r) - E C(x_f)) and D(x_f) = sigmoid(C(x_f) - E C(x_r))."""
    d_real, d_fake = real - fake.mean(), fake - real.mean()  # the relativistic average logits
    log_one_minus = lambda t: log_sigmoid(-t)  # noqa: E731  log(1 - sigmoid(t))
    d_loss = -log_sigmoid(d_real).mean() - log_one_minus(d_fake).mean()
    g_loss = -log_sigmoid(d_fake).mean() - log_one_minus(d_real).mean()
    return d_loss, g_loss


def losses(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    real, fake = torch.tensor(real), torch.tensor(fake)
    return (discriminator_loss(real, fake, "relativistic_average").item(),
            generator_loss(fake, "relativistic_average", real).item())


def test_the_losses_are_the_papers_on_fixed_logits():
    d_loss, g_loss = losses(REAL_LOGITS, FAKE_LOGITS)
    expected_d, expected_g = rasgan_losses(REAL_LOGITS, FAKE_LOGITS)
    assert d_loss == pytest.approx(expected_d, rel=1e-12)
    assert g_loss == pytest.approx(expected_g, rel=1e-12)
    assert d_loss != pytest.approx(g_loss, rel=1e-3)  # the two players' losses differ on these logits


def test_only_the_differences_between_real_and_generated_logits_count():
    shifted = losses(REAL_LOGITS + 2.5, FAKE_LOGITS + 2.5)
    assert shifted == pytest.approx(losses(REAL_LOGITS, FAKE_LOGITS), rel=1e-12)
    standard = torch.tensor(REAL_LOGITS), torch.tensor(FAKE_LOGITS)
    assert discriminator_loss(*standard, "non_saturating").item() != pytest.approx(
        discriminator_loss(standard[0] + 2.5, standard[1] + 2.5, "non_saturating").item(), rel=1e-3)


def test_the_generator_loss_needs_the_real_logits():
    with pytest.raises(InputError, match="pass real_logits"):
        generator_loss(torch.tensor(FAKE_LOGITS), "relativistic_average")


def test_the_generator_step_scores_its_fakes_against_the_real_batch():
    """In GANModule, G's loss is RaSGAN's on the real batch it was given, so it changes with the real images."""
    for real in (REAL, REAL + 1.0):
        real_logits, fake_logits = critic_logits(real)
        expected = rasgan_losses(real_logits, fake_logits)[1]
        assert recorded_generator_loss(real, "relativistic_average") == pytest.approx(expected, rel=1e-5)
