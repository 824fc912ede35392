"""The VAE objective's pieces by value, against numpy: loss = -(reconstruction - beta * KL) with KL warm-up and free
bits, and the prior's scale in the KL and in sampling, on the linear-Gaussian VAE of `tests.linear_gaussian`.
The likelihood's sigma has float32 precision even in a float64 module, hence relative tolerances of 1e-7."""

import lightning as L
import numpy as np
import pytest
import scipy.stats
import torch

from tests.linear_gaussian import LinearGaussian
from zoo.modules.vae_objective import VAEObjective

SHIFT, VAR_FACTOR = np.array([0.3, -0.5]), 2.0  # q(z|x) = N(m(x) + shift, 2 V)


@pytest.fixture(scope="module")
def model() -> LinearGaussian:
    return LinearGaussian.make(s=1.5)


def hand_pieces(model: LinearGaussian, x: np.ndarray, k: int, seed: int) -> tuple[float, np.ndarray]:
    """The k-sample reconstruction term (mean over the batch) and the closed-form KL per image and dimension (B, L)
    of q = N(mu, v) against p(z) = N(0, s^2): 0.5 (v / s^2 + mu^2 / s^2 - 1 - log(v / s^2))."""
    mu, var = model.posterior_mean(x) + SHIFT, VAR_FACTOR * model.posterior_var
    torch.manual_seed(seed)
    eps = torch.randn(k, len(x), len(var), dtype=torch.float64).numpy()  # the noise step() draws
    z = mu + np.sqrt(var) * eps
    reconstruction = scipy.stats.norm.logpdf(x, z @ model.W.T + model.b, model.sigma).sum(-1).mean()
    kl = 0.5 * (var / model.s**2 + mu**2 / model.s**2 - 1 - np.log(var / model.s**2))
    return reconstruction, kl


def at_step(vae, step: int):
    """Attach a trainer whose global step is `step`."""
    trainer = L.Trainer(logger=False, enable_checkpointing=False)
    trainer.fit_loop.epoch_loop.automatic_optimization.optim_progress.optimizer.step.total.completed = step
    vae.trainer = trainer
    assert vae.global_step == step
    return vae


def test_loss_is_minus_reconstruction_plus_beta_times_the_closed_form_kl(model):
    x, beta, k = model.sample(6), 2.5, 3
    vae = model.vae(SHIFT, VAR_FACTOR, objective=VAEObjective(beta=beta, num_samples=k))
    torch.manual_seed(4)
    loss, logs, _, kl_per_dim = vae.step((torch.from_numpy(x), None))
    reconstruction, kl = hand_pieces(model, x, k, seed=4)
    np.testing.assert_allclose(kl_per_dim.detach().numpy(), kl, rtol=1e-7)
    assert logs["kl"].item() == pytest.approx(kl.sum(1).mean(), rel=1e-7)
    assert logs["reconstruction"].item() == pytest.approx(reconstruction, rel=1e-7)
    assert logs["elbo"].item() == pytest.approx(reconstruction - kl.sum(1).mean(), rel=1e-7)
    assert loss.item() == pytest.approx(-(reconstruction - beta * kl.sum(1).mean()), rel=1e-7)


@pytest.mark.parametrize("step", [0, 3, 9, 40])
def test_kl_warmup_ramps_beta_linearly_over_the_global_steps(model, step):
    x, beta, warmup = model.sample(6), 3.0, 10
    vae = at_step(model.vae(SHIFT, VAR_FACTOR, objective=VAEObjective(beta=beta, kl_warmup_steps=warmup)), step)
    torch.manual_seed(5)
    loss, logs, _, _ = vae.step((torch.from_numpy(x), None))
    reconstruction, kl = hand_pieces(model, x, 1, seed=5)
    beta_now = beta * min(1.0, (step + 1) / warmup)  # 1/10 of beta on the first step, all of it from step 9 on
    assert logs["beta"].item() == pytest.approx(beta_now)
    assert loss.item() == pytest.approx(-(reconstruction - beta_now * kl.sum(1).mean()), rel=1e-7)


def test_free_bits_floor_each_dimensions_batch_mean_kl(model):
    x, beta = model.sample(8), 2.0
    _, kl = hand_pieces(model, x, 1, seed=6)
    per_dimension = kl.mean(0)  # (L,): free bits act on the batch mean of each dimension
    floor = float(per_dimension.mean())  # between the two dimensions' KLs: one is floored, the other is not
    assert per_dimension.min() < floor < per_dimension.max()
    vae = model.vae(SHIFT, VAR_FACTOR, objective=VAEObjective(beta=beta, free_bits=floor))
    torch.manual_seed(6)
    loss, _, _, _ = vae.step((torch.from_numpy(x), None))
    reconstruction, _ = hand_pieces(model, x, 1, seed=6)
    assert loss.item() == pytest.approx(-(reconstruction - beta * np.maximum(per_dimension, floor).sum()), rel=1e-7)


def test_prior_scale_reaches_the_prior_density_and_the_samples(model):
    vae = model.vae()
    z = torch.randn(5, 2, dtype=torch.float64)
    np.testing.assert_allclose(vae.prior.log_prob(z).numpy(), scipy.stats.norm.logpdf(z.numpy(), 0, model.s).sum(1))
    torch.manual_seed(7)
    n = 20_000
    images = vae.sample(n).numpy()  # the means W z + b of p(x|z), z ~ p(z)
    latents = (images - model.b) @ model.W / (model.W**2).sum(0)  # W has orthogonal columns: recovers z
    std = latents.std(0)
    assert np.all(np.abs(std - model.s) < 4 * model.s / np.sqrt(2 * n)), std  # sd of a sample sd: s / sqrt(2n)
    assert np.abs(latents.mean(0)).max() < 4 * model.s / np.sqrt(n)
    grid = vae.fixed_noise.numpy() / model.s  # the sample grids' fixed z are prior draws too
    assert scipy.stats.kstest(grid.ravel(), "norm").pvalue > 1e-3
