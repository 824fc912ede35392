"""The VAE's likelihoods p(x|z): Bernoulli on logits (binarised data) and Gaussian with fixed or learned sigma.

Likelihoods are small `nn.Module`s built from the image shape (a learned per-pixel sigma needs it);
they turn the decoder's output into a distribution whose `log_prob` is the full log-density in nats.
Argument validation is off, as in zoo.distributions.latents.
"""

from typing import Literal

import torch
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal

from zoo.errors import InputError

OPTIMAL_SIGMA_MOMENTUM = 0.1  # the optimal-sigma likelihood's running average, as batch norm's statistics


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
    "optimal" is the optimal-sigma VAE (Rybkin et al. 2021): in training, sigma_1^2 is the batch's mean
    squared error over all its pixels (and samples of z), detached, which maximises the batch's likelihood
    in sigma_1; a running average of it (momentum OPTIMAL_SIGMA_MOMENTUM) is the fixed sigma_1 of evaluation.

    Args:
        image_shape: (C, H, W) of the images (the shape of a per-pixel sigma).
        sigma: sigma_1, or the learned sigmas' starting value.
        learn_sigma: "fixed", "global", "pixel" or "optimal", as above.
        min_sigma: the floor under learned sigmas.
        mean_activation: "identity", the decoder's output is the mean; "sigmoid", the mean in (0, 1), as WAE's.
    """

    def __init__(
        self,
        image_shape: tuple[int, ...] = (1, 28, 28),
        sigma: float = 1.0,
        learn_sigma: Literal["fixed", "global", "pixel", "optimal"] = "fixed",
        min_sigma: float = 1e-3,
        mean_activation: Literal["identity", "sigmoid"] = "identity",
    ):
        super().__init__()
        if mean_activation not in ("identity", "sigmoid"):
            raise InputError(f"GaussianLikelihood: mean_activation must be identity or sigmoid, "
                             f"got {mean_activation!r}")
        self.mean_activation = mean_activation
        if sigma <= 0:
            raise InputError(f"GaussianLikelihood: sigma must be > 0, got {sigma}")
        if learn_sigma not in ("fixed", "global", "pixel", "optimal"):
            raise InputError(f"GaussianLikelihood: learn_sigma must be fixed, global, pixel or optimal, "
                             f"got {learn_sigma!r}")
        shape = tuple(image_shape) if learn_sigma == "pixel" else ()
        log_sigma = torch.full(shape, float(torch.tensor(sigma).log()))
        if learn_sigma in ("fixed", "optimal"):
            self.register_buffer("log_sigma", log_sigma)
        else:
            self.log_sigma = nn.Parameter(log_sigma)
        self.learn_sigma, self.min_sigma, self.event_dims = learn_sigma, min_sigma, len(image_shape)

    @property
    def sigma(self) -> torch.Tensor:
        return self.log_sigma.exp().clamp(min=self.min_sigma)

    def forward(self, mean: torch.Tensor) -> Independent:  # mean: (..., C, H, W)
        if self.mean_activation == "sigmoid":
            mean = torch.sigmoid(mean)
        scale = self.sigma.expand_as(mean)
        if self.learn_sigma == "optimal" and self.training:
            return BatchOptimalGaussian(Normal(mean, scale, validate_args=False), self)
        return Independent(Normal(mean, scale, validate_args=False), self.event_dims, validate_args=False)

    @torch.no_grad()
    def track_sigma(self, variance: torch.Tensor) -> None:
        """Move the evaluation sigma_1^2 towards a training batch's optimal one."""
        running = (2 * self.log_sigma).exp().lerp(variance, OPTIMAL_SIGMA_MOMENTUM)
        self.log_sigma.copy_(0.5 * running.log())


class BatchOptimalGaussian(Independent):
    """N(x; mu, sigma^2 I) whose sigma^2 is, at `log_prob(x)`, the mean of (x - mu)^2 over every element of the
    batch, detached (the maximiser of the batch's log-likelihood in sigma); `likelihood` tracks its average."""

    def __init__(self, normal: Normal, likelihood: GaussianLikelihood):
        super().__init__(normal, likelihood.event_dims, validate_args=False)
        self.likelihood = likelihood

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.base_dist.loc
        variance = (x - mean).pow(2).mean().detach().clamp(min=self.likelihood.min_sigma**2)
        self.likelihood.track_sigma(variance)
        normal = Normal(mean, variance.sqrt().expand_as(mean), validate_args=False)
        return Independent(normal, self.reinterpreted_batch_ndims, validate_args=False).log_prob(x)
