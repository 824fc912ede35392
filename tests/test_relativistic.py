"""The relativistic pairing objective (RpGAN) with the zero-centred penalties R1 and R2, R3GAN's objective (Huang et
al. 2024): the losses by value on fixed logits, the penalties against the exact input gradient of a known
discriminator, GANModule's two players' losses by hand, and the Dirac-GAN dynamics (Mescheder et al. 2018), where
R1 + R2 make the game converge to the data and without them the players circle: the linearised dynamics at the
equilibrium have purely imaginary eigenvalues (Huang et al.'s analysis), and only the losses' curvature makes the
circles shrink, slowly."""


import numpy as np
import pytest
import torch
from torch import nn

from tests.test_gan_objectives import (
    FAKE_LOGITS,
    REAL,
    REAL_LOGITS,
    critic_logits,
    discriminator_losses,
    recorded_generator_loss,
)
from zoo.errors import InputError
from zoo.modules.gan_losses import GANObjective, discriminator_loss, generator_loss, zero_centred_penalty


def softplus(t: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(t))


def test_the_relativistic_losses_pair_each_fake_with_its_real_row():
    real, fake = torch.from_numpy(REAL_LOGITS), torch.from_numpy(FAKE_LOGITS)
    assert discriminator_loss(real, fake, "relativistic").item() == pytest.approx(
        softplus(FAKE_LOGITS - REAL_LOGITS).mean(), rel=1e-12)
    assert generator_loss(fake, "relativistic", real).item() == pytest.approx(
        softplus(REAL_LOGITS - FAKE_LOGITS).mean(), rel=1e-12)
    shuffled = torch.from_numpy(REAL_LOGITS[::-1].copy())  # the pairing matters: not a difference of means
    assert discriminator_loss(shuffled, fake, "relativistic").item() != pytest.approx(
        discriminator_loss(real, fake, "relativistic").item(), rel=1e-3)
    with pytest.raises(InputError, match="real_logits"):
        generator_loss(fake, "relativistic")


def test_the_zero_centred_penalty_is_the_exact_squared_input_gradient():
    """D(x) = sin(w . x) has grad D = cos(w . x) w, so ||grad D||^2 = cos^2(w . x) ||w||^2, point by point."""
    w = torch.tensor([0.7, -1.3, 0.4], dtype=torch.float64)
    x = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    exact = (torch.cos(x @ w) ** 2 * w.dot(w)).mean()
    assert zero_centred_penalty(lambda v, labels=None: torch.sin(v.double() @ w), x).item() == pytest.approx(
        exact.item(), rel=1e-6)


def test_gan_module_adds_r1_on_real_and_r2_on_generated_images():
    """The linear critic's input gradient is w everywhere (||w||^2 = 4), so R1 = R2 = 4 on every lazy step."""
    real_logits, fake_logits = critic_logits()
    relativistic = softplus(fake_logits - real_logits).mean()
    for r1, r2 in ((0.0, 0.6), (0.4, 0.6)):
        losses = discriminator_losses(2, objective=GANObjective("relativistic", r1_gamma=r1, r2_gamma=r2))
        for _, loss in losses:
            assert loss == pytest.approx(relativistic + (r1 + r2) / 2 * 4.0, rel=1e-5)


def test_the_generator_step_scores_its_fakes_against_the_real_batch():
    """G's loss is softplus(D(x_i) - D(G(z_i))) on the batch it was given, so it changes with the real images."""
    for real in (REAL, REAL + 1.0):
        real_logits, fake_logits = critic_logits(real)
        expected = softplus(real_logits - fake_logits).mean()
        assert recorded_generator_loss(real, "relativistic") == pytest.approx(expected, rel=1e-5)


DATA = torch.zeros(1, 1)  # the Dirac-GAN's data: one point at 0


def dirac_losses(discriminate, fake: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The zoo's relativistic losses of the Dirac-GAN (data at 0, the generator the point `fake`, D(x) = psi x): the
    discriminator's with gamma / 2 (R1 + R2), and the generator's."""
    d_loss = discriminator_loss(discriminate(DATA), discriminate(fake), "relativistic")
    if gamma:
        d_loss = d_loss + gamma / 2 * (zero_centred_penalty(discriminate, DATA) + zero_centred_penalty(discriminate,
                                                                                                       fake))
    return d_loss, generator_loss(discriminate(fake), "relativistic", discriminate(DATA))


def dirac_vector_field(theta: torch.Tensor, psi: torch.Tensor, gamma: float) -> torch.Tensor:
    """(-dL_G/dtheta, -dL_D/dpsi) of the Dirac-GAN at (theta, psi)."""
    d_loss, g_loss = dirac_losses(lambda x, labels=None: (psi * x).squeeze(-1), theta.reshape(1, 1), gamma)
    (d_theta,) = torch.autograd.grad(g_loss, theta, create_graph=True)
    (d_psi,) = torch.autograd.grad(d_loss, psi, create_graph=True)
    return -torch.stack([d_theta, d_psi])


@pytest.mark.parametrize("gamma", [0.0, 0.25, 1.0])
def test_dirac_gan_eigenvalues_at_the_equilibrium_match_the_closed_form(gamma):
    """Linearised at (0, 0) the field is [[0, 1/2], [-1/2, -2 gamma]]: eigenvalues -gamma +- sqrt(gamma^2 - 1/4),
    purely imaginary (+- i/2: the players circle) without the penalties, of negative real part with them."""
    point = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    jacobian = torch.autograd.functional.jacobian(lambda v: dirac_vector_field(v[0], v[1], gamma), point)
    expected = np.array([[0.0, 0.5], [-0.5, -2 * gamma]])
    np.testing.assert_allclose(jacobian.detach().numpy(), expected, atol=1e-12)
    eigenvalues = np.linalg.eigvals(jacobian.detach().numpy())
    closed_form = -gamma + np.sqrt(complex(gamma**2 - 0.25)) * np.array([1, -1])
    np.testing.assert_allclose(sorted(eigenvalues, key=lambda c: (c.real, c.imag)),
                               sorted(closed_form, key=lambda c: (c.real, c.imag)), atol=1e-12)
    assert (eigenvalues.real < 0).all() if gamma else np.allclose(eigenvalues.real, 0)


def dirac_gan(gamma: float, steps: int = 3000, lr: float = 0.1) -> np.ndarray:
    """Mescheder et al.'s Dirac-GAN: data at 0, the generator a point theta, the discriminator D(x) = psi x; the
    players alternate gradient steps on the zoo's relativistic losses with gamma / 2 (R1 + R2). Returns the
    (theta, psi) path."""
    theta = torch.tensor([[1.0]], requires_grad=True)
    critic = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        critic.weight.fill_(1.0)
    d_optimizer, g_optimizer = torch.optim.SGD(critic.parameters(), lr=lr), torch.optim.SGD([theta], lr=lr)
    discriminate = lambda x, labels=None: critic(x).squeeze(-1)  # noqa: E731
    path = []
    for _ in range(steps):
        d_loss, _ = dirac_losses(discriminate, theta.detach(), gamma)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        _, g_loss = dirac_losses(discriminate, theta, gamma)  # against the discriminator that just stepped
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
        path.append((theta.item(), critic.weight.item()))
    return np.array(path)


@pytest.mark.slow
def test_dirac_gan_converges_to_the_data_with_r1_and_r2_and_circles_without():
    regularised, free = dirac_gan(gamma=1.0), dirac_gan(gamma=0.0)
    assert np.hypot(*regularised[-1]) < 1e-3  # (theta, psi) -> (0, 0): the generator sits on the data
    assert np.hypot(*free[-1]) > 0.1  # after the same steps, still far from it
    assert (np.diff(np.sign(free[:, 0])) != 0).sum() >= 4  # theta swings across the data, round and round
