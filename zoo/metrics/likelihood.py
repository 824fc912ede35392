"""Importance-sampled log-likelihood (Burda et al. 2016, eq. 8) and bits per dimension.

log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x).

The k samples are drawn in chunks of several samples at a time, each chunk decoded as one batch of
(samples x images), and the chunks' log-sum-exps are merged, so memory stays bounded for any k.
"""

import math

import torch

CHUNK_ELEMENTS = 2**24  # decoded pixels per chunk: 64 MiB of float32 log-probabilities


@torch.no_grad()
def importance_sampled_log_likelihood(
    vae, x: torch.Tensor, labels: torch.Tensor | None = None, num_samples: int = 5000
) -> torch.Tensor:
    """Estimate log p(x) in nats for each image of x (B, C, H, W); returns (B,)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    chunk = max(1, min(num_samples, CHUNK_ELEMENTS // x[0].numel() // len(x)))
    posterior = vae.encode(x, labels)
    total = None
    for start in range(0, num_samples, chunk):
        n = min(chunk, num_samples - start)
        log_w = vae.log_importance_weights(x, labels, posterior, n, reparameterize=False)  # (n, B)
        chunk_lse = torch.logsumexp(log_w, dim=0)
        total = chunk_lse if total is None else torch.logaddexp(total, chunk_lse)
    return total - math.log(num_samples)


def bits_per_dim(nll_nats: torch.Tensor, dims: int) -> torch.Tensor:
    return nll_nats / (dims * math.log(2))
