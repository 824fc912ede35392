"""The IS-NLL (`importance_sampled_log_likelihood`) and the IWAE bound against exact marginals: a linear-Gaussian
VAE (log p(x) in closed form, exact posterior known) and a Bernoulli VAE with a 1-D latent (log p(x) by
quadrature). References are numpy/scipy."""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
import torch
from torch import nn

from tests.linear_gaussian import LinearGaussian
from zoo import VAEModule
from zoo.distributions import BernoulliLikelihood
from zoo.metrics.likelihood import importance_sampled_log_likelihood
from zoo.modules.vae_objective import VAEObjective
from zoo.modules.vae_prior import VAEPrior

WRONG_SHIFT, WRONG_VAR_FACTOR = np.array([0.3, -0.5]), 2.0  # q(z|x) = N(m(x) + shift, 2 V): too wide, off-centre


@pytest.fixture(scope="module")
def model() -> LinearGaussian:
    return LinearGaussian.make()


def test_under_the_exact_posterior_every_importance_weight_is_log_px(model):
    vae = model.vae().requires_grad_(False)
    x = model.sample(16)
    exact = model.log_marginal(x)
    torch.manual_seed(0)
    log_w = vae.log_importance_weights(torch.from_numpy(x), None, vae.encode(torch.from_numpy(x)), 200).numpy()
    assert log_w.std(0).max() < 1e-6  # zero variance: p(x, z) / q(z|x) = p(x) for every z
    np.testing.assert_allclose(log_w, np.broadcast_to(exact, log_w.shape), rtol=0, atol=1e-4)
    for k in (1, 1000):
        estimate = importance_sampled_log_likelihood(vae, torch.from_numpy(x), None, k).numpy()
        np.testing.assert_allclose(estimate, exact, rtol=0, atol=1e-4)


def test_with_a_wrong_posterior_the_estimate_converges_to_log_px_from_below(model):
    vae = model.vae(WRONG_SHIFT, WRONG_VAR_FACTOR).requires_grad_(False)
    x = model.sample(100)
    exact = model.log_marginal(x)
    torch.manual_seed(0)
    errors = {k: importance_sampled_log_likelihood(vae, torch.from_numpy(x), None, k).numpy() - exact
              for k in (1, 10, 100, 3000)}
    mean_error = [e.mean() for e in errors.values()]
    stderr = [e.std() / math.sqrt(len(e)) for e in errors.values()]
    assert mean_error == sorted(mean_error), mean_error  # E[estimate] rises with k (Burda et al. 2016, thm 1)
    assert all(m < 3 * s for m, s in zip(mean_error, stderr, strict=True))  # from below: Jensen
    assert mean_error[0] < -0.5 and abs(mean_error[-1]) < 0.01  # q is wrong, yet k = 3000 recovers log p(x)
    rms = [np.sqrt((e**2).mean()) for e in errors.values()]
    assert all(a > 2 * b for a, b in zip(rms, rms[1:], strict=False)), rms  # error shrinks as k grows


def test_the_iwae_bound_of_step_is_below_log_px_and_rises_with_k(model):
    x = model.sample(1, seed=5)
    exact = float(model.log_marginal(x))
    batch = (torch.from_numpy(x).expand(100, -1), None)
    means, stderrs = [], []
    for k in (1, 4, 16, 64, 256):
        vae = model.vae(WRONG_SHIFT, WRONG_VAR_FACTOR, objective=VAEObjective("iwae", num_samples=k))
        torch.manual_seed(1)
        with torch.no_grad():
            bounds = np.array([float(vae.step(batch)[1]["iwae_bound"]) for _ in range(40)])  # 4000 draws of L_k
        means.append(bounds.mean())
        stderrs.append(bounds.std() / math.sqrt(len(bounds)))
    assert all(m <= exact + 3 * s for m, s in zip(means, stderrs, strict=True)), (means, exact)
    assert all(b - a > 3 * s for a, b, s in zip(means, means[1:], stderrs, strict=False)), means
    assert exact - means[0] > 1.0 and exact - means[-1] < 0.01


def test_step_iwae_loss_is_the_hand_computed_bound(model):
    k, x = 7, model.sample(5, seed=2)
    vae = model.vae(WRONG_SHIFT, WRONG_VAR_FACTOR, objective=VAEObjective("iwae", num_samples=k))
    torch.manual_seed(3)
    loss, logs, _, _ = vae.step((torch.from_numpy(x), None))
    torch.manual_seed(3)
    eps = torch.randn(k, len(x), 2, dtype=torch.float64).numpy()  # the reparameterisation noise step() draws
    q_mean, q_var = model.posterior_mean(x) + WRONG_SHIFT, WRONG_VAR_FACTOR * model.posterior_var
    z = q_mean + np.sqrt(q_var) * eps  # (k, B, L)
    log_w = model.log_joint_minus_q(x, z, q_mean, q_var)  # (k, B)
    expected = -(scipy.special.logsumexp(log_w, axis=0) - math.log(k)).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    assert logs["iwae_bound"].item() == pytest.approx(-expected, rel=1e-9)


# --- Bernoulli pixels, 1-D latent: log p(x) = log int N(z; 0, s^2) prod_i Bern(x_i; sigmoid(w_i z + c_i)) dz -----
PIXEL_WEIGHTS, PIXEL_BIASES = np.array([2.0, -1.5, 0.8, 3.0, -0.5, 1.2]), np.array([0.3, -0.2, 0.5, -1.0, 0.1, 0.0])
BERNOULLI_PRIOR_SCALE = 1.3
ALL_IMAGES = np.array(np.meshgrid(*[[0, 1]] * 6, indexing="ij")).reshape(6, -1).T.astype(float)  # (64, 6)
GRID = np.linspace(-12, 12, 24_001)  # the posteriors and the prior are negligible beyond |z| = 12


def log_joint_on_grid(images: np.ndarray) -> np.ndarray:
    """log p(x, z) at every grid point: (B, len(GRID))."""
    logits = GRID[:, None] * PIXEL_WEIGHTS + PIXEL_BIASES  # (G, 6)
    log_lik = images @ logits.T - np.logaddexp(0, logits).sum(1)  # (B, G)
    return log_lik + scipy.stats.norm.logpdf(GRID, 0, BERNOULLI_PRIOR_SCALE)


def quadrature_log_marginal(images: np.ndarray) -> np.ndarray:
    log_joint = log_joint_on_grid(images)
    peak = log_joint.max(1, keepdims=True)
    return peak[:, 0] + np.log(scipy.integrate.simpson(np.exp(log_joint - peak), x=GRID, axis=1))


def posterior_moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    posterior = np.exp(log_joint_on_grid(images) - quadrature_log_marginal(images)[:, None])
    mean = scipy.integrate.simpson(posterior * GRID, x=GRID, axis=1)
    return mean, scipy.integrate.simpson(posterior * GRID**2, x=GRID, axis=1) - mean**2


class TablePosterior(nn.Module):
    """q(z|x) looked up by the binary image: N(posterior mean, 2 x posterior variance), from the grid."""

    def __init__(self, image_shape, out_features, num_classes=0):
        super().__init__()
        mean, var = posterior_moments(ALL_IMAGES)
        self.register_buffer("table", torch.from_numpy(np.stack([mean, np.log(2 * var)], 1)))  # (64, 2)
        self.register_buffer("place_values", 2 ** torch.arange(5, -1, -1, dtype=torch.float64))

    def forward(self, x, labels=None):
        return self.table[(x.double() @ self.place_values).long()]


def relative_weight_variance(images: np.ndarray) -> np.ndarray:
    """Var_q[p(x, z) / q(z|x)] / p(x)^2 = int p(x, z)^2 / q(z|x) dz / p(x)^2 - 1, by quadrature."""
    mean, var = posterior_moments(images)
    log_q = scipy.stats.norm.logpdf(GRID, mean[:, None], np.sqrt(2 * var)[:, None])
    log_integrand = 2 * (log_joint_on_grid(images) - quadrature_log_marginal(images)[:, None]) - log_q
    peak = log_integrand.max(1, keepdims=True)
    return np.exp(peak[:, 0]) * scipy.integrate.simpson(np.exp(log_integrand - peak), x=GRID, axis=1) - 1


class LinearLogits(nn.Module):
    def __init__(self, image_shape, latent_dim, num_classes=0):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.w, self.c = torch.tensor(PIXEL_WEIGHTS), torch.tensor(PIXEL_BIASES)

    def forward(self, z, labels=None):
        return (z * self.w.to(z) + self.c.to(z)).view(-1, *self.image_shape)  # z: (N, 1)


def test_bernoulli_estimate_matches_quadrature_on_every_binary_image():
    exact, k = quadrature_log_marginal(ALL_IMAGES), 10_000
    assert scipy.special.logsumexp(exact) == pytest.approx(0.0, abs=1e-8)  # p(x) sums to one over the 64 images
    vae = VAEModule(TablePosterior, LinearLogits, BernoulliLikelihood, image_shape=(6,), latent_dim=1,
                    prior=VAEPrior(scale=BERNOULLI_PRIOR_SCALE)).double().eval()
    torch.manual_seed(0)
    error = importance_sampled_log_likelihood(vae, torch.from_numpy(ALL_IMAGES), None, k).numpy() - exact
    stderr = np.sqrt(relative_weight_variance(ALL_IMAGES) / k)  # of log (mean of k weights), by the delta method
    assert np.all(np.abs(error) < 4 * stderr), (error / stderr).round(1)
    assert abs(error.mean()) < 4 * np.sqrt((stderr**2).mean() / len(error))
