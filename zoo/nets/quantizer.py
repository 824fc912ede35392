"""Vector quantiser of the VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning").

Each encoder output vector z_e is replaced by its nearest codebook vector e_k, k = argmin_j ||z_e - e_j||^2.
- Straight-through estimator: the decoder sees z_e + sg(e_k - z_e), whose value is e_k and whose gradient is
  passed to z_e unchanged (sg: stop-gradient).
- Commitment loss ||z_e - sg(e_k)||^2 (the paper's third term, weighted by beta in the module) keeps the
  encoder's outputs near the codes they chose.
- The codebook is not learned by gradient but by exponential moving averages (the paper's appendix A.1), with
  the decay's zero-debiasing and the Laplace smoothing of Sonnet 2's `VectorQuantizerEMA`: per code,
  N_k <- EMA of the batch's counts n_k, m_k <- EMA of the sums of the vectors assigned to it, both debiased
  (an EMA whose state starts at zero and is divided by 1 - decay^t, so step t mixes in the batch with the weight
  (1 - decay) / (1 - decay^t)); then N_k is smoothed to (N_k + eps) / (sum N + K eps) * sum N and e_k = m_k / N_k.
  The first step thus sets each chosen code to the mean of its vectors, and the others to zero.
- Dead-code restarts (as Jukebox and Improved VQGAN): a code that no vector of `restart_after` consecutive
  training batches chose is moved onto a random encoder output of the current batch.
The codebook and its statistics are buffers, changed only by `update`, which the module calls after each training
step of the auto-encoder; `forward` quantises with the codebook as it was before the batch (Sonnet 2's order).
Under DDP each rank's statistics are its own batch's; DDP's buffer broadcast then gives every rank rank 0's codebook.
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class Quantized:
    quantized: torch.Tensor  # (B, D, H, W): the codes' vectors, with the straight-through gradient to z_e
    codes: torch.Tensor  # (B, H, W) indices into the codebook
    commitment: torch.Tensor  # mean over elements of (z_e - sg(e_k))^2, unweighted
    perplexity: torch.Tensor  # exp(entropy) of the batch's code usage: from 1 (one code) to K (all equally)


def perplexity(counts: torch.Tensor) -> torch.Tensor:
    """exp(-sum_k p_k log p_k) of the usage frequencies p = counts / sum(counts)."""
    p = counts / counts.sum().clamp(min=1)
    return torch.exp(-torch.special.xlogy(p, p).sum())


class VectorQuantizer(nn.Module):
    def __init__(self, num_codes: int, code_dim: int, decay: float = 0.99, epsilon: float = 1e-5,
                 restart_after: int = 100):
        super().__init__()
        self.num_codes, self.code_dim = num_codes, code_dim
        self.decay, self.epsilon, self.restart_after = decay, epsilon, restart_after
        bound = (3 / code_dim) ** 0.5  # Sonnet's default: variance scaling (fan-in D), uniform
        self.register_buffer("codebook", torch.empty(num_codes, code_dim).uniform_(-bound, bound))  # (K, D)
        self.register_buffer("cluster_size", torch.zeros(num_codes))  # N_k, debiased EMA of the counts
        self.register_buffer("embedding_sum", torch.zeros(num_codes, code_dim))  # m_k, debiased EMA of the sums
        self.register_buffer("updates", torch.tensor(0))  # t: EMA steps taken
        self.register_buffer("idle_steps", torch.zeros(num_codes, dtype=torch.long))  # batches since last chosen

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code of each row of `flat` (N, D): (N,)."""
        distances = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.T
                     + self.codebook.pow(2).sum(1))  # (N, K)
        return distances.argmin(1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, H, W) -> their vectors as feature maps (B, D, H, W)."""
        return F.embedding(codes, self.codebook).permute(0, 3, 1, 2)

    def codes_of(self, z_e: torch.Tensor) -> torch.Tensor:
        """The codes of encoder outputs (B, D, H, W): (B, H, W)."""
        b, d, h, w = z_e.shape
        with torch.autocast(z_e.device.type, enabled=False):
            return self.nearest(flat_vectors(z_e)).view(b, h, w)

    def forward(self, z_e: torch.Tensor) -> Quantized:
        """Quantise encoder outputs (B, D, H, W) with the current codebook (`update` changes it)."""
        codes = self.codes_of(z_e)
        z_q = self.lookup(codes).to(z_e.dtype)
        commitment = F.mse_loss(z_e, z_q.detach())
        quantized = z_e + (z_q - z_e).detach()  # straight-through: value z_q, gradient to z_e as is
        counts = torch.bincount(codes.flatten(), minlength=self.num_codes)
        return Quantized(quantized, codes, commitment, perplexity(counts.float()))

    @torch.no_grad()
    def update(self, z_e: torch.Tensor, codes: torch.Tensor) -> int:
        """One EMA step of the codebook on a training batch's encoder outputs (B, D, H, W) and their codes
        (B, H, W), then the restart of the dead codes; returns how many were restarted."""
        with torch.autocast(z_e.device.type, enabled=False):
            flat, codes = flat_vectors(z_e), codes.flatten()  # (N, D), (N,)
            counts = torch.bincount(codes, minlength=self.num_codes).to(flat.dtype)  # (K,)
            sums = torch.zeros_like(self.embedding_sum).index_add_(0, codes, flat)  # (K, D)
            self.updates += 1
            weight = (1 - self.decay) / (1 - self.decay ** self.updates.item())  # the debiased EMA's step
            self.cluster_size.lerp_(counts, weight)
            self.embedding_sum.lerp_(sums, weight)
            total = self.cluster_size.sum()
            smoothed = (self.cluster_size + self.epsilon) / (total + self.num_codes * self.epsilon) * total
            self.codebook.copy_(self.embedding_sum / smoothed[:, None])
            self.idle_steps.copy_(torch.where(counts > 0, 0, self.idle_steps + 1))
            return self.restart(flat)

    def restart(self, flat: torch.Tensor) -> int:
        """Move every code idle for `restart_after` batches onto a random row of `flat` (distinct rows while there
        are enough); it starts again as a code chosen once, at that vector."""
        dead = (self.idle_steps >= self.restart_after).nonzero().squeeze(1)
        if len(dead):
            rows = torch.randperm(len(flat), device=flat.device)[: len(dead)] if len(flat) >= len(dead) else \
                torch.randint(len(flat), (len(dead),), device=flat.device)
            self.codebook[dead] = flat[rows]
            self.embedding_sum[dead] = flat[rows]
            self.cluster_size[dead] = 1.0
            self.idle_steps[dead] = 0
        return len(dead)


def flat_vectors(z_e: torch.Tensor) -> torch.Tensor:
    """(B, D, H, W) -> (B*H*W, D) in float32, detached: the vectors the codebook sees."""
    return z_e.detach().float().permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])
