"""The VampPrior and the two-stochastic-layer VAE against independent numpy/scipy computations."""

import math
from functools import partial

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from zoo import VAEModule
from zoo.distributions import DiagonalGaussianMixture, diagonal_gaussian
from zoo.hub import folders
from zoo.metrics.likelihood import importance_sampled_log_likelihood
from zoo.modules.vae_objective import VAEObjective
from zoo.modules.vae_prior import VAEPrior
from zoo.nets import MLPDecoder, MLPEncoder

IMAGE = (1, 3, 3)


def vae(**kwargs) -> VAEModule:
    torch.manual_seed(0)
    defaults = dict(encoder=partial(MLPEncoder, hidden=[16]), decoder=partial(MLPDecoder, hidden=[16]),
                    image_shape=IMAGE, latent_dim=3)
    return VAEModule(**{**defaults, **kwargs})


def numpy_gaussian(params: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) in float64 from encoder outputs (..., 2L): mu, then log sigma^2."""
    mu, log_var = np.split(params.detach().double().numpy(), 2, axis=-1)
    return mu, np.exp(0.5 * log_var)


def mixture_log_density(z: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """log (1/K) sum_k N(z; mu_k, diag sigma_k^2) by scipy, for z (N, L), mu and sigma (K, L): (N,)."""
    per_component = np.stack([stats.norm.logpdf(z, m, s).sum(-1) for m, s in zip(mu, sigma, strict=True)], -1)
    return logsumexp(per_component, axis=-1) - math.log(len(mu))


def test_mixture_log_density_matches_scipy_for_narrow_and_wide_components():
    generator = torch.Generator().manual_seed(0)
    loc = 3 * torch.randn(6, 4, generator=generator)
    scale = torch.exp(torch.empty(6, 4).uniform_(math.log(0.01), math.log(3.0), generator=generator))
    z = torch.cat([loc[:3] + 0.01 * torch.randn(3, 4, generator=generator),  # inside narrow components
                   5 * torch.randn(20, 4, generator=generator)])  # and far from all of them
    mixture = DiagonalGaussianMixture(diagonal_gaussian(torch.cat([loc, 2 * scale.log()], -1)))
    expected = mixture_log_density(z.double().numpy(), loc.double().numpy(), scale.double().numpy())
    np.testing.assert_allclose(mixture.log_prob(z.view(23, 1, 4)).view(-1).numpy(), expected, rtol=1e-5, atol=1e-4)


def test_vamp_prior_is_the_mean_of_the_posteriors_at_the_clipped_pseudo_inputs():
    model = vae(prior=VAEPrior("vamp", num_pseudo_inputs=7))
    with torch.no_grad():
        model.pseudo_input_params.uniform_(-0.5, 1.5)  # some pixels beyond [0, 1]: hardtanh clips them
    pseudo_inputs = np.clip(model.pseudo_input_params.detach().numpy(), 0.0, 1.0)
    mu, sigma = numpy_gaussian(model.encoder(torch.from_numpy(pseudo_inputs)))  # (K, L) each
    z = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(1)) * 2  # (k, B, L)
    expected = mixture_log_density(z.reshape(-1, 3).double().numpy(), mu, sigma).reshape(2, 5)
    np.testing.assert_allclose(model.prior.log_prob(z).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def mixture_moments(mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of (1/K) sum_k N(mu_k, diag sigma_k^2)."""
    mean = mu.mean(0)
    second = (np.einsum("ki,kj->ij", mu, mu) + np.diag((sigma**2).sum(0))) / len(mu)
    return mean, second - np.outer(mean, mean)


def test_sample_draws_latents_from_the_vamp_mixture():
    model = vae(prior=VAEPrior("vamp", num_pseudo_inputs=5))
    drawn = []
    model.decoder.register_forward_hook(lambda net, inputs, output: drawn.append(inputs[0]))
    torch.manual_seed(0)
    model.sample(100_000)
    z = drawn[0].double().numpy()  # (n, L), what the decoder was given
    mu, sigma = numpy_gaussian(model.encoder(model.pseudo_inputs))
    mean, covariance = mixture_moments(mu, sigma)
    n = len(z)
    assert np.all(np.abs(z.mean(0) - mean) < 5 * np.sqrt(np.diag(covariance) / n))
    np.testing.assert_allclose(np.cov(z.T), covariance, atol=5 * np.sqrt(2 / n) * np.diag(covariance).max())


def linear_gaussian_two_layer_vae() -> VAEModule:
    """Linear networks whose log-variance outputs ignore their input: q(z1, z2|x) and p(z1, z2) are then
    joint Gaussians, and their KL has a closed form."""
    model = vae(encoder=partial(MLPEncoder, hidden=[]), latent_dim=3, prior=VAEPrior(top_latent_dim=2, top_hidden=[]))
    with torch.no_grad():
        for net, half in [(model.encoder.net[0], 3), (model.top_encoder[0], 2), (model.top_decoder[0], 3)]:
            net.weight[half:] = 0  # constant log sigma^2 = bias
            net.bias.uniform_(-1.5, 0.5, generator=torch.Generator().manual_seed(half))
    return model


def gaussian_kl(mean_q, cov_q, mean_p, cov_p) -> float:
    d, inv_p, diff = len(mean_q), np.linalg.inv(cov_p), mean_p - mean_q
    return 0.5 * (np.trace(inv_p @ cov_q) + diff @ inv_p @ diff - d
                  + np.linalg.slogdet(cov_p)[1] - np.linalg.slogdet(cov_q)[1])


def layer(net: torch.nn.Linear, latent: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A linear Gaussian layer z' = A z + c + noise of covariance S, from a Linear's weight and bias."""
    weight, bias = net.weight.detach().double().numpy(), net.bias.detach().double().numpy()
    return weight[:latent], bias[:latent], np.diag(np.exp(bias[latent:]))


def test_two_layer_kl_estimate_matches_the_closed_form_kl_of_the_joint_gaussians():
    model = linear_gaussian_two_layer_vae()
    x = torch.rand(2, *IMAGE, generator=torch.Generator().manual_seed(2)).round()
    mu1, sigma1 = numpy_gaussian(model.encoder(x))  # q(z1|x) = N(mu1, diag sigma1^2)
    a, c, s2 = layer(model.top_encoder[0], 2)  # q(z2|z1) = N(a z1 + c, s2)
    b, d, t1 = layer(model.top_decoder[0], 3)  # p(z1|z2) = N(b z2 + d, t1), p(z2) = N(0, I)
    mean_p = np.concatenate([d, np.zeros(2)])
    cov_p = np.block([[b @ b.T + t1, b], [b.T, np.eye(2)]])  # over (z1, z2)
    expected = []
    for m, s in zip(mu1, sigma1, strict=True):
        s1 = np.diag(s**2)
        mean_q = np.concatenate([m, a @ m + c])
        cov_q = np.block([[s1, s1 @ a.T], [a @ s1, a @ s1 @ a.T + s2]])
        expected.append(gaussian_kl(mean_q, cov_q, mean_p, cov_p))
    model.objective = VAEObjective(num_samples=100_000)  # the training step's one-sample estimator, averaged over many
    torch.manual_seed(0)
    _, logs, _, kl_per_dim = model.step((x, None))
    assert kl_per_dim is None  # no closed form per dimension
    posterior = model.encode(x)  # the estimator's spread, per image
    z = posterior.sample((100_000,))
    stderr = (posterior.log_prob(z) - model.prior.log_prob(z)).std(0).detach().numpy() / math.sqrt(100_000)
    assert abs(logs["kl"].item() - np.mean(expected)) < 5 * stderr.mean(), (logs["kl"], expected, stderr)


def exact_log_likelihood(model: VAEModule, x: torch.Tensor) -> np.ndarray:
    """log p(x) = log int int p(x|z1) p(z1|z2) p(z2) dz1 dz2 by the trapezoid rule on a grid, for scalar
    z1 and z2; p(z2) is N(0, 1) or the VampPrior, written out in numpy."""
    grid = np.linspace(-9, 9, 1801)
    step = grid[1] - grid[0]
    weights = np.full_like(grid, step)
    weights[[0, -1]] /= 2
    with torch.no_grad():
        log_px = model.decoder(torch.tensor(grid, dtype=torch.float32)[:, None]).double()  # logits (G1, C, H, W)
        log_px = -torch.nn.functional.binary_cross_entropy_with_logits(
            log_px[:, None].expand(-1, len(x), *IMAGE), x.double()[None].expand(len(grid), -1, *IMAGE),
            reduction="none").sum((2, 3, 4)).numpy()  # (G1, B)
        mean, log_var = model.top_decoder(torch.tensor(grid, dtype=torch.float32)[:, None]).double().numpy().T
    log_p1_given_2 = stats.norm.logpdf(grid[:, None], mean[None], np.exp(0.5 * log_var)[None])  # (G1, G2)
    if model.prior_options.kind == "vamp":
        pseudo_inputs = torch.from_numpy(np.clip(model.pseudo_input_params.detach().numpy(), 0, 1))
        mu1, _ = numpy_gaussian(model.encoder(pseudo_inputs))
        mu2, sigma2 = numpy_gaussian(model.top_encoder(torch.from_numpy(mu1).float()))
        log_p2 = mixture_log_density(grid[:, None], mu2, sigma2)
    else:
        log_p2 = stats.norm.logpdf(grid)
    log_joint = log_px[:, None, :] + log_p1_given_2[:, :, None] + log_p2[None, :, None]  # (G1, G2, B)
    log_w = np.log(weights)
    return logsumexp(log_joint + log_w[:, None, None] + log_w[None, :, None], axis=(0, 1))


@pytest.mark.slow
@pytest.mark.parametrize("prior", ["gaussian", "vamp"])
def test_two_layer_iwae_bound_rises_with_k_towards_the_exact_log_likelihood(prior):
    model = vae(latent_dim=1, prior=VAEPrior(prior, num_pseudo_inputs=4, top_latent_dim=1, top_hidden=[8])).eval()
    x = torch.rand(3, *IMAGE, generator=torch.Generator().manual_seed(3)).round()
    exact = exact_log_likelihood(model, x)
    repeats = 200  # E[L_k] over independent draws, each image repeated
    torch.manual_seed(0)
    bounds, stderrs = [], []
    for k in (1, 10, 100, 1000):
        estimates = importance_sampled_log_likelihood(model, x.repeat(repeats, 1, 1, 1), None, k)
        estimates = estimates.view(repeats, 3).numpy()
        bounds.append(estimates.mean(0))
        stderrs.append(estimates.std(0) / math.sqrt(repeats))
    bounds, stderrs = np.array(bounds), np.array(stderrs)  # (4, B)
    assert np.all(np.diff(bounds, axis=0) > -3 * stderrs[1:]), bounds  # E[L_k] does not fall as k grows
    assert np.all(bounds[-1] - bounds[0] > 0.05), bounds  # and rises
    assert np.all(bounds <= exact + 3 * stderrs), (bounds, exact)  # a lower bound on log p(x)
    np.testing.assert_allclose(bounds[-1], exact, atol=0.03)  # and tight at large k


def test_vamp_two_layer_module_round_trips_through_a_weights_folder(tmp_path):
    model = vae(prior=VAEPrior("vamp", num_pseudo_inputs=4, top_latent_dim=2)).eval()
    folders.save_folder(model, tmp_path)
    loaded = folders.load_folder(tmp_path)
    z = torch.randn(6, 5)
    torch.testing.assert_close(loaded.prior.log_prob(z), model.prior.log_prob(z), rtol=0, atol=0)
    torch.manual_seed(0)
    expected = model.sample(4)
    torch.manual_seed(0)
    torch.testing.assert_close(loaded.sample(4), expected, rtol=0, atol=0)
