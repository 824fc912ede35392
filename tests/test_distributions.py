"""The VAE's distributions against their formulas and Monte Carlo estimates."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from zoo.distributions import BernoulliLikelihood, GaussianLikelihood, diagonal_gaussian, gaussian_kl, gaussian_prior


def random_posterior(batch=4, latent=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 2 * latent, generator=generator)  # (mu, log sigma^2)


@pytest.mark.parametrize("prior_scale", [1.0, 0.5, 2.5])
def test_closed_form_kl_matches_monte_carlo(prior_scale):
    params = random_posterior()
    q, p = diagonal_gaussian(params), gaussian_prior(3, prior_scale)
    closed = kl_divergence(q, p)  # (B,)
    torch.manual_seed(1)
    z = q.sample((400_000,))  # (N, B, L)
    log_ratio = q.log_prob(z) - p.log_prob(z)  # (N, B)
    monte_carlo, stderr = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(len(z))
    assert torch.all((closed - monte_carlo).abs() < 5 * stderr + 1e-4), (closed, monte_carlo, stderr)


def test_closed_form_kl_matches_textbook_formula():
    params, s = random_posterior(), 1.7
    mu, log_var = params.chunk(2, -1)
    var = log_var.exp()
    formula = 0.5 * (var / s**2 + mu**2 / s**2 - 1 - log_var + 2 * math.log(s)).sum(-1)
    torch.testing.assert_close(kl_divergence(diagonal_gaussian(params), gaussian_prior(3, s)), formula)


def test_reparameterised_samples_have_mean_mu_and_variance_sigma_squared():
    params = random_posterior(batch=2, latent=4, seed=3)
    q = diagonal_gaussian(params)
    torch.manual_seed(0)
    z = q.rsample((200_000,))
    n = len(z)
    assert torch.all((z.mean(0) - q.mean).abs() < 5 * q.stddev / math.sqrt(n))
    assert torch.all((z.var(0) / q.variance - 1).abs() < 5 * math.sqrt(2 / n))


def test_reparameterised_sample_is_mu_plus_eps_sigma():
    params = random_posterior(batch=1, latent=2).requires_grad_()
    q = diagonal_gaussian(params)
    torch.manual_seed(0)
    z = q.rsample()
    torch.manual_seed(0)
    eps = torch.randn(1, 2)
    torch.testing.assert_close(z, q.mean + eps * q.stddev)
    z.sum().backward()  # dz/dmu = 1, dz/dlog_var = eps * sigma / 2
    torch.testing.assert_close(params.grad[:, :2], torch.ones(1, 2))
    torch.testing.assert_close(params.grad[:, 2:], (eps * q.stddev / 2).detach())


@pytest.mark.parametrize("learn_sigma", ["fixed", "global", "pixel"])
def test_gaussian_log_likelihood_is_the_full_density(learn_sigma):
    shape, sigma = (2, 3, 4), 0.3
    likelihood = GaussianLikelihood(shape, sigma=sigma, learn_sigma=learn_sigma)
    mean, x = torch.rand(5, *shape), torch.rand(5, *shape)
    d = math.prod(shape)
    formula = -((x - mean) ** 2).sum((1, 2, 3)) / (2 * sigma**2) - d / 2 * math.log(2 * math.pi * sigma**2)
    torch.testing.assert_close(likelihood(mean).log_prob(x), formula)
    assert any(p.requires_grad for p in likelihood.parameters()) == (learn_sigma != "fixed")


def test_optimal_sigma_is_the_batch_mse_in_training_and_its_running_average_in_evaluation():
    from scipy import stats

    from zoo.distributions import OPTIMAL_SIGMA_MOMENTUM

    shape, sigma = (2, 3, 4), 0.3
    likelihood = GaussianLikelihood(shape, sigma=sigma, learn_sigma="optimal")
    assert not any(p.requires_grad for p in likelihood.parameters())
    generator = torch.Generator().manual_seed(0)
    running = sigma**2
    for _ in range(3):  # training batches: mean (k, B, C, H, W) against x (B, C, H, W)
        mean = torch.rand(4, 5, *shape, generator=generator).requires_grad_()
        x = torch.rand(5, *shape, generator=generator)
        log_px = likelihood(mean).log_prob(x)  # (k, B)
        errors = (x.numpy() - mean.detach().numpy())  # numpy from here on
        variance = np.mean(errors**2)  # over every pixel of every image and sample
        expected = stats.norm.logpdf(x.numpy(), mean.detach().numpy(), np.sqrt(variance)).sum((2, 3, 4))
        np.testing.assert_allclose(log_px.detach().numpy(), expected, rtol=1e-5)
        log_px.sum().backward()  # sigma is held fixed: d/dmu = (x - mu) / sigma^2
        np.testing.assert_allclose(mean.grad.numpy(), errors / variance, rtol=1e-4)
        running = (1 - OPTIMAL_SIGMA_MOMENTUM) * running + OPTIMAL_SIGMA_MOMENTUM * variance
    likelihood.eval()
    mean, x = torch.rand(5, *shape, generator=generator), torch.rand(5, *shape, generator=generator)
    expected = stats.norm.logpdf(x.numpy(), mean.numpy(), np.sqrt(running)).sum((1, 2, 3))
    np.testing.assert_allclose(likelihood(mean).log_prob(x).numpy(), expected, rtol=1e-5)


def test_learned_pixel_sigma_has_one_value_per_pixel():
    likelihood = GaussianLikelihood((3, 8, 8), sigma=0.5, learn_sigma="pixel")
    assert likelihood.log_sigma.shape == (3, 8, 8)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        GaussianLikelihood((1, 2, 2), sigma=0.0)


def test_bernoulli_log_likelihood_matches_formula_and_broadcasts_over_samples():
    logits = torch.randn(7, 5, 1, 4, 4)  # (k samples, B, C, H, W)
    x = torch.bernoulli(torch.full((5, 1, 4, 4), 0.5))
    probs = torch.sigmoid(logits)
    formula = (x * probs.log() + (1 - x) * (1 - probs).log()).sum((2, 3, 4))
    log_prob = BernoulliLikelihood((1, 4, 4))(logits).log_prob(x)
    assert log_prob.shape == (7, 5)
    torch.testing.assert_close(log_prob, formula, rtol=1e-4, atol=1e-4)


def test_bernoulli_log_likelihood_is_stable_for_extreme_logits():
    logits = torch.tensor([-200.0, -40.0, -1e-3, 0.0, 1e-3, 40.0, 200.0]).view(1, 1, 7)
    for value in (0.0, 1.0):
        x = torch.full_like(logits, value)
        exact = -torch.nn.functional.binary_cross_entropy_with_logits(logits.double(), x.double(), reduction="none")
        got = BernoulliLikelihood((1, 1, 7))(logits).base_dist.log_prob(x)
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got.double(), exact, rtol=1e-6, atol=1e-7)


def test_the_closed_form_gaussian_kl_is_torch_distributions():
    torch.manual_seed(0)
    q = Normal(torch.randn(50, 6, dtype=torch.float64), torch.rand(50, 6, dtype=torch.float64) * 3 + 0.05)
    p = Normal(torch.randn(6, dtype=torch.float64), torch.rand(6, dtype=torch.float64) * 2 + 0.1)
    assert torch.allclose(gaussian_kl(q, p), kl_divergence(q, p), rtol=1e-12, atol=1e-12)
