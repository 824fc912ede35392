"""How far a discriminator is from the optimal one for a fixed generator (Goodfellow et al. 2014, Prop. 1):

    D*(x) = p_data(x) / (p_data(x) + p_G(x)) = sigmoid(log p_data(x) - log p_G(x)).

p_G is known only through samples, so it is estimated by a Gaussian kernel density (Scott's bandwidth).
"""

import torch

from zoo.distributions import gaussian_mixture_log_prob


def kde_log_prob(points: torch.Tensor, samples: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    """log of a Gaussian kernel density estimate from `samples` (N, d), at `points` (M, d)."""
    n, d = samples.shape
    if bandwidth is None:
        bandwidth = float(samples.std(0).mean()) * n ** (-1.0 / (d + 4))  # Scott's rule
    return gaussian_mixture_log_prob(points, samples, bandwidth)  # one kernel per sample


def optimal_discriminator(data_log_prob: torch.Tensor, generator_log_prob: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(data_log_prob - generator_log_prob)


def discriminator_gap(discriminator_probs: torch.Tensor, optimal_probs: torch.Tensor) -> float:
    """Mean |D(x) - D*(x)| over the given points."""
    return float((discriminator_probs - optimal_probs).abs().mean())
