"""The VAE's latent distributions, as `torch.distributions` objects.

- posterior q(z|x) = N(mu, diag sigma^2), from an encoder's 2*L outputs (mu, log sigma^2);
- prior p(z) = N(0, s^2 I), or an equal-weight mixture of diagonal Gaussians (the VampPrior's form);
- two stochastic layers z = (z1, z2) drawn ancestrally: q(z1|x) q(z2|z1) and p(z2) p(z1|z2).

Argument validation is off: every parameter here is valid by construction (scales are exponentials),
and validating on each step costs as much as a small network's layer.
"""

import math

import torch
from torch.distributions import Categorical, Distribution, Independent, MixtureSameFamily, Normal, constraints

LOG_VAR_RANGE = (-30.0, 20.0)  # keeps exp(log_var) finite in float32


def diagonal_gaussian(params: torch.Tensor) -> Independent:
    """q(z|x) from encoder outputs (B, 2L): the first L are mu, the last L are log sigma^2."""
    mu, log_var = params.chunk(2, dim=-1)
    std = (0.5 * log_var.clamp(*LOG_VAR_RANGE)).exp()
    return Independent(Normal(mu, std, validate_args=False), 1, validate_args=False)


def gaussian_kl(q: Normal, p: Normal) -> torch.Tensor:
    """KL(q || p) per element for Normals, in closed form: log(s_p / s_q) + (s_q^2 + (m_q - m_p)^2) / (2 s_p^2) - 1/2.
    torch.distributions.kl_divergence gives the same, but its registry lookup breaks a torch.compile graph."""
    variance_ratio = (q.scale / p.scale) ** 2
    return 0.5 * (variance_ratio + ((q.loc - p.loc) / p.scale) ** 2 - 1 - variance_ratio.log())


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


