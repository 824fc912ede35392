"""The ELBO's KL term split in three, as beta-TCVAE weighs it (Chen et al. 2018, "Isolating Sources of
Disentanglement in VAEs", eq. 2 and section 4).

With n the index of a training image (uniform over the N images), q(z|n) the posterior and q(z) = (1/N) sum_n q(z|n)
the aggregate posterior,

    E_n KL(q(z|n) || p(z)) = I_q(z; n)                        index-code mutual information
                           + KL(q(z) || prod_j q(z_j))        total correlation
                           + sum_j KL(q(z_j) || p(z_j))       dimension-wise KL,

for a prior that factorises, p(z) = prod_j p(z_j). With one sample z_i ~ q(z|x_i) per image of a minibatch of M,
every term is a mean over i of a difference of log-densities at z_i: log q(z_i|x_i) - log q(z_i),
log q(z_i) - sum_j log q(z_ij) and sum_j log q(z_ij) - log p(z_i), so the three add up to the minibatch estimate
of the KL, mean_i [log q(z_i|x_i) - log p(z_i)], exactly. The aggregate log q(z_i) and its marginals
log q(z_ij) are estimated by minibatch-weighted sampling (MWS, the paper's eq. 6 and its code):

    log q(z_i) ~ logsumexp_k log q(z_i | x_k) - log(N M),  and per dimension j likewise with q(z_ij | x_k).
"""

import math
from typing import NamedTuple

import torch
from torch.distributions import Independent, Normal

from zoo.errors import InputError


class KLTerms(NamedTuple):
    """Minibatch means, in nats: they add up to the minibatch estimate of E_n KL(q(z|n) || p(z))."""

    mutual_information: torch.Tensor
    total_correlation: torch.Tensor
    dimension_wise_kl: torch.Tensor


def log_aggregate_posterior(z: torch.Tensor, posterior: Normal, dataset_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """MWS estimates of log q(z_i) (..., M) and of each marginal log q(z_ij) (..., M, L) at samples z (..., M, L),
    from the minibatch's posteriors q(z|x_k), a Normal of batch shape (M, L), and the data set's size N."""
    log_q = posterior.log_prob(z.unsqueeze(-2))  # (..., M, M, L): [i, k, j] = log q(z_ij | x_k)
    log_nm = math.log(dataset_size * z.shape[-2])
    return torch.logsumexp(log_q.sum(-1), dim=-1) - log_nm, torch.logsumexp(log_q, dim=-2) - log_nm


def kl_decomposition(z: torch.Tensor, posterior: Independent, prior: Independent, dataset_size: int) -> KLTerms:
    """The three terms at samples z (..., M, L) of the posteriors q(z|x) (an Independent Normal of batch shape (M,)),
    for a factorised prior p(z) (an Independent of batch shape ()), averaged over the minibatch and any leading
    sample dimensions."""
    if dataset_size < z.shape[-2]:
        raise InputError(f"the data set's size N = {dataset_size} is below the minibatch's {z.shape[-2]}: give the "
                         f"training set's size")
    log_qz_given_x = posterior.log_prob(z)  # (..., M)
    log_pz = prior.base_dist.log_prob(z).sum(-1)  # (..., M)
    log_qz, log_qz_marginals = log_aggregate_posterior(z, posterior.base_dist, dataset_size)
    log_qz_product = log_qz_marginals.sum(-1)  # (..., M): log prod_j q(z_ij)
    return KLTerms((log_qz_given_x - log_qz).mean(), (log_qz - log_qz_product).mean(), (log_qz_product - log_pz).mean())
