"""Distributions: the VAE's latents and likelihoods, MMD, the KL's decomposition, ex-post latent samplers.

The latents' and likelihoods' names are importable from here, the path shipped configs name them by
(`zoo.distributions.BernoulliLikelihood`).
"""

from zoo.distributions.latents import (
    LOG_VAR_RANGE,
    DiagonalGaussianMixture,
    TwoLayerLatent,
    diagonal_gaussian,
    gaussian_kl,
    gaussian_mixture_log_prob,
    gaussian_prior,
)
from zoo.distributions.likelihoods import (
    OPTIMAL_SIGMA_MOMENTUM,
    BatchOptimalGaussian,
    BernoulliLikelihood,
    BernoulliLogits,
    GaussianLikelihood,
)

__all__ = ["LOG_VAR_RANGE", "OPTIMAL_SIGMA_MOMENTUM", "BatchOptimalGaussian", "BernoulliLikelihood", "BernoulliLogits",
           "DiagonalGaussianMixture", "GaussianLikelihood", "TwoLayerLatent", "diagonal_gaussian",
           "gaussian_kl", "gaussian_mixture_log_prob", "gaussian_prior"]
