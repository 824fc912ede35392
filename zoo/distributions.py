"""The VAE's distributions, as `torch.distributions` objects.

- posterior q(z|x) = N(mu, diag sigma^2), from an encoder's 2*L outputs (mu, log sigma^2);
- prior p(z) = N(0, s^2 I), or an equal-weight mixture of diagonal Gaussians (the VampPrior's form);
- two stochastic layers z = (z1, z2) drawn ancestrally: q(z1|x) q(z2|z1) and p(z2) p(z1|z2);
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
from torch.distributions import (
    Bernoulli,
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    Normal,
    constraints,
)

from zoo.errors import InputError

LOG_VAR_RANGE = (-30.0, 20.0)  # keeps exp(log_var) finite in float32
OPTIMAL_SIGMA_MOMENTUM = 0.1  # the optimal-sigma likelihood's running average, as batch norm's statistics


def diagonal_gaussian(params: torch.Tensor) -> Independent:
    """q(z|x) from encoder outputs (B, 2L): the first L are mu, the last L are log sigma^2."""
    mu, log_var = params.chunk(2, dim=-1)
    std = (0.5 * log_var.clamp(*LOG_VAR_RANGE)).exp()
    return Independent(Normal(mu, std, validate_args=False), 1, validate_args=False)


def gaussian_prior(latent_dim: int, scale: float = 1.0, device=None, dtype=None) -> Independent:
    """p(z) = N(0, scale^2 I)."""
    loc = torch.zeros(latent_dim, device=device, dtype=dtype)
    return Independent(Normal(loc, torch.full_like(loc, scale), validate_args=False), 1, validate_args=False)


class DiagonalGaussianMixture(MixtureSameFamily):
    """(1/K) sum_k N(z; mu_k, diag s_k^2) from K diagonal Gaussians (an Independent Normal of batch shape (K,)).

    Sampling, mean and variance are torch's. The log-density expands each component's squared Mahalanobis
    distance sum_l (z_l - mu_kl)^2 / s_kl^2 into matrix products, so N points cost (N, K) memory rather than
    the (N, K, L) of a broadcast; it runs in float64, where the expansion's cancellation is negligible.
    """

    def __init__(self, components: Independent):
        logits = components.base_dist.loc.new_zeros(components.batch_shape[-1])  # equal weights 1/K
        super().__init__(Categorical(logits=logits, validate_args=False), components, validate_args=False)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:  # z: (..., L) -> (...)
        normal = self.component_distribution.base_dist
        loc, scale = normal.loc.double(), normal.scale.double()  # (K, L)
        precision = scale.pow(-2)
        flat = z.reshape(-1, z.shape[-1]).double()  # (N, L)
        squared = flat.pow(2) @ precision.T - 2 * flat @ (loc * precision).T + (loc.pow(2) * precision).sum(-1)
        log_norm = -scale.log().sum(-1) - 0.5 * loc.shape[-1] * math.log(2 * math.pi)  # (K,)
        log_density = torch.logsumexp(log_norm - 0.5 * squared.clamp(min=0), dim=-1) - math.log(len(loc))
        return log_density.to(z.dtype).view(z.shape[:-1])


class TwoLayerLatent(Distribution):
    """A distribution over z = (z1, z2), concatenated on the last axis, drawn ancestrally: first the root
    layer, then the other from `conditional(root)`. The posterior q(z1|x) q(z2|z1) has its root at z1; the
    prior p(z2) p(z1|z2) at z2. log_prob(z) = log root(z_root) + log conditional(z_root)(z_other).
    `mean` is the mean path (the conditional's mean at the root's mean), used for reconstructions."""

    arg_constraints: dict = {}
    has_rsample = True
    support = constraints.real_vector

    def __init__(self, root: Distribution, conditional, root_is_z1: bool, z1_dim: int, z2_dim: int):
        self.root, self.conditional, self.root_is_z1, self.z1_dim = root, conditional, root_is_z1, z1_dim
        super().__init__(root.batch_shape, torch.Size([z1_dim + z2_dim]), validate_args=False)

    def join(self, root: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return torch.cat([root, other] if self.root_is_z1 else [other, root], dim=-1)

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z1, z2 = z[..., : self.z1_dim], z[..., self.z1_dim:]
        return (z1, z2) if self.root_is_z1 else (z2, z1)

    def rsample(self, sample_shape=()) -> torch.Tensor:
        root = self.root.rsample(sample_shape)
        return self.join(root, self.conditional(root).rsample())

    def sample(self, sample_shape=()) -> torch.Tensor:
        with torch.no_grad():
            root = self.root.sample(sample_shape)
            return self.join(root, self.conditional(root).sample())

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        root, other = self.split(z)
        return self.root.log_prob(root) + self.conditional(root).log_prob(other)

    @property
    def mean(self) -> torch.Tensor:
        root = self.root.mean
        return self.join(root, self.conditional(root).mean)


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
