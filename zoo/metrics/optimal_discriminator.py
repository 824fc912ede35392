"""How far a discriminator is from the optimal one for a fixed generator (Goodfellow et al. 2014, Prop. 1):

    D*(x) = p_data(x) / (p_data(x) + p_G(x)) = sigmoid(log p_data(x) - log p_G(x)).

p_G is known only through samples, so it is estimated by a Gaussian kernel density (Scott's bandwidth).
"""

import math

import torch


def kde_log_prob(points: torch.Tensor, samples: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    """log of a Gaussian kernel density estimate from `samples` (N, d), at `points` (M, d)."""
    n, d = samples.shape
    if bandwidth is None:
        bandwidth = float(samples.std(0).mean()) * n ** (-1.0 / (d + 4))  # Scott's rule
    squared = torch.cdist(points, samples) ** 2  # (M, N)
    log_kernel = -squared / (2 * bandwidth**2) - d / 2 * math.log(2 * math.pi * bandwidth**2)
    return torch.logsumexp(log_kernel, dim=1) - math.log(n)


def optimal_discriminator(data_log_prob: torch.Tensor, generator_log_prob: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(data_log_prob - generator_log_prob)


def discriminator_gap(discriminator_probs: torch.Tensor, optimal_probs: torch.Tensor) -> float:
    """Mean |D(x) - D*(x)| over the given points."""
    return float((discriminator_probs - optimal_probs).abs().mean())
