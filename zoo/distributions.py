"""The VAE's distributions, as `torch.distributions` objects.

- posterior q(z|x) = N(mu, diag sigma^2), from an encoder's 2*L outputs (mu, log sigma^2);
- prior p(z) = N(0, s^2 I);
- likelihoods p(x|z): Bernoulli on logits (binarised data) and Gaussian with fixed or learned sigma.

Likelihoods are small `nn.Module`s built from the image shape (a learned per-pixel sigma needs it);
they turn the decoder's output into a distribution whose `log_prob` is the full log-density in nats.
Argument validation is off: every parameter here is valid by construction (scales are exponentials),
and validating on each step costs as much as a small network's layer.
"""

import math
from typing import Literal

import torch
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal

from zoo.errors import InputError

LOG_VAR_RANGE = (-30.0, 20.0)  # keeps exp(log_var) finite in float32


def diagonal_gaussian(params: torch.Tensor) -> Independent:
    """q(z|x) from encoder outputs (B, 2L): the first L are mu, the last L are log sigma^2."""
    mu, log_var = params.chunk(2, dim=-1)
    std = (0.5 * log_var.clamp(*LOG_VAR_RANGE)).exp()
    return Independent(Normal(mu, std, validate_args=False), 1, validate_args=False)


def gaussian_prior(latent_dim: int, scale: float = 1.0, device=None, dtype=None) -> Independent:
    """p(z) = N(0, scale^2 I)."""
    loc = torch.zeros(latent_dim, device=device, dtype=dtype)
    return Independent(Normal(loc, torch.full_like(loc, scale), validate_args=False), 1, validate_args=False)


def gaussian_mixture_log_prob(x: torch.Tensor, means: torch.Tensor, std: float) -> torch.Tensor:
    """log of (1/M) sum_m N(x; means_m, std^2 I) for points x (N, d) and means (M, d): (N,)."""
    d = x.shape[1]
    squared = torch.cdist(x, means.to(x)) ** 2  # (N, M)
    log_normal = -squared / (2 * std**2) - d / 2 * math.log(2 * math.pi * std**2)
    return torch.logsumexp(log_normal, dim=1) - math.log(len(means))


class BernoulliLogits(Bernoulli):
    """Bernoulli(sigmoid(logits)) whose log-density x l - softplus(l), softplus(l) = max(l, 0) + log(1 + e^-|l|),
    is written with exp and log: ATen vectorises those on CPU but not log1p, and the IS-NLL evaluation spends
    a third of its time here otherwise. log(1 + e) for e <= 1 loses at most 6e-8 nats per pixel to log1p."""

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        logits = self.logits
        return value * logits - logits.clamp(min=0) - logits.abs().neg().exp().add(1).log()


class BernoulliLikelihood(nn.Module):
    """p(x|z) = prod_i Bernoulli(x_i; sigmoid(logits_i)), for data in {0, 1}."""

    def __init__(self, image_shape: tuple[int, ...] = (1, 28, 28)):
        super().__init__()
        self.event_dims = len(image_shape)

    def forward(self, logits: torch.Tensor) -> Independent:  # logits: (..., C, H, W)
        return Independent(BernoulliLogits(logits=logits, validate_args=False), self.event_dims,
                           validate_args=False)


class GaussianLikelihood(nn.Module):
    """p(x|z) = N(x; mu(z), sigma_1^2 I), log-density -||x - mu||^2 / (2 sigma_1^2) - (D/2) log(2 pi sigma_1^2).

    `learn_sigma`: "fixed" keeps sigma_1 = `sigma`; "global" learns one sigma_1; "pixel" learns one
    per pixel and channel. Learned sigmas start at `sigma` and are kept above `min_sigma`.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (1, 28, 28),
        sigma: float = 1.0,
        learn_sigma: Literal["fixed", "global", "pixel"] = "fixed",
        min_sigma: float = 1e-3,
    ):
        super().__init__()
        if sigma <= 0:
            raise InputError(f"GaussianLikelihood: sigma must be > 0, got {sigma}")
        if learn_sigma not in ("fixed", "global", "pixel"):
            raise InputError(f"GaussianLikelihood: learn_sigma must be fixed, global or pixel, got {learn_sigma!r}")
        shape = tuple(image_shape) if learn_sigma == "pixel" else ()
        log_sigma = torch.full(shape, float(torch.tensor(sigma).log()))
        if learn_sigma == "fixed":
            self.register_buffer("log_sigma", log_sigma)
        else:
            self.log_sigma = nn.Parameter(log_sigma)
        self.min_sigma, self.event_dims = min_sigma, len(image_shape)

    @property
    def sigma(self) -> torch.Tensor:
        return self.log_sigma.exp().clamp(min=self.min_sigma)

    def forward(self, mean: torch.Tensor) -> Independent:  # mean: (..., C, H, W)
        scale = self.sigma.expand_as(mean)
        return Independent(Normal(mean, scale, validate_args=False), self.event_dims, validate_args=False)
