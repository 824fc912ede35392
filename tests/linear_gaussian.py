"""A linear-Gaussian VAE whose marginal and posterior are known in closed form, for exact-reference tests.

p(z) = N(0, s^2 I_L), p(x|z) = N(W z + b, sigma^2 I_D). Then x ~ N(b, s^2 W W^T + sigma^2 I) and the posterior is
N(m(x), V) with V = (I / s^2 + W^T W / sigma^2)^-1 and m(x) = V W^T (x - b) / sigma^2. W has orthogonal columns,
so V is diagonal and a diagonal-Gaussian encoder (linear in x, constant log-variance) can be exact.
The references below are numpy/scipy, independent of the zoo's code.
"""

from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.stats
import torch
from torch import nn

from zoo import VAEModule
from zoo.distributions import GaussianLikelihood
from zoo.modules.vae_prior import VAEPrior


class LinearEncoder(nn.Module):
    """(B, D) -> (B, 2L): the posterior's mean and log-variance, both affine in x; set by `set_posterior`."""

    def __init__(self, image_shape, out_features, num_classes=0):
        super().__init__()
        self.linear = nn.Linear(int(np.prod(image_shape)), out_features)

    def forward(self, x, labels=None):
        return self.linear(x.flatten(1))


class LinearDecoder(nn.Module):
    """(B, L) -> (B, D): W z + b."""

    def __init__(self, image_shape, latent_dim, num_classes=0):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.linear = nn.Linear(latent_dim, int(np.prod(image_shape)))

    def forward(self, z, labels=None):
        return self.linear(z).view(-1, *self.image_shape)


@dataclass
class LinearGaussian:
    W: np.ndarray  # (D, L), orthogonal columns
    b: np.ndarray  # (D,)
    s: float  # prior scale
    sigma: float  # observation noise

    @classmethod
    def make(cls, dim=4, latent=2, s=1.5, sigma=0.5, column_norms=(2.0, 0.7), seed=0) -> "LinearGaussian":
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.standard_normal((dim, latent)))
        return cls(q * np.asarray(column_norms[:latent]), rng.standard_normal(dim), s, sigma)

    @property
    def posterior_var(self) -> np.ndarray:  # (L,): V's diagonal
        return 1 / (1 / self.s**2 + (self.W**2).sum(0) / self.sigma**2)

    def posterior_mean(self, x: np.ndarray) -> np.ndarray:  # (B, L)
        return (x - self.b) @ self.W * self.posterior_var / self.sigma**2

    def log_marginal(self, x: np.ndarray) -> np.ndarray:  # (B,)
        cov = self.s**2 * self.W @ self.W.T + self.sigma**2 * np.eye(len(self.b))
        return scipy.stats.multivariate_normal(self.b, cov).logpdf(x)

    def sample(self, n: int, seed: int = 1) -> np.ndarray:  # (n, D) from p(x)
        rng = np.random.default_rng(seed)
        z = self.s * rng.standard_normal((n, self.W.shape[1]))
        return z @ self.W.T + self.b + self.sigma * rng.standard_normal((n, len(self.b)))

    def log_joint_minus_q(self, x, z, q_mean, q_var) -> np.ndarray:
        """log p(x|z) + log p(z) - log q(z|x) for z (k, B, L), q = N(q_mean (B, L), diag q_var (L,)): (k, B)."""
        log_px_z = scipy.stats.norm.logpdf(x, z @ self.W.T + self.b, self.sigma).sum(-1)
        log_pz = scipy.stats.norm.logpdf(z, 0, self.s).sum(-1)
        log_q = scipy.stats.norm.logpdf(z, q_mean, np.sqrt(q_var)).sum(-1)
        return log_px_z + log_pz - log_q

    def vae(self, mean_shift=0.0, var_factor=1.0, **kwargs) -> VAEModule:
        """The model as a float64 VAEModule whose encoder gives q(z|x) = N(m(x) + mean_shift, var_factor * V):
        the exact posterior for the defaults."""
        dim, latent = self.W.shape
        vae = VAEModule(LinearEncoder, LinearDecoder, partial(GaussianLikelihood, sigma=self.sigma), image_shape=(dim,),
                        latent_dim=latent, prior=VAEPrior(scale=self.s), **kwargs).double()
        gain = self.W * self.posterior_var / self.sigma**2  # (D, L): m(x) = (x - b) @ gain
        with torch.no_grad():
            vae.decoder.linear.weight.copy_(torch.from_numpy(self.W))
            vae.decoder.linear.bias.copy_(torch.from_numpy(self.b))
            weight = np.concatenate([gain.T, np.zeros((latent, dim))])
            bias = np.concatenate([-self.b @ gain + mean_shift, np.log(var_factor * self.posterior_var)])
            vae.encoder.linear.weight.copy_(torch.from_numpy(weight))
            vae.encoder.linear.bias.copy_(torch.from_numpy(bias))
        return vae.eval()
