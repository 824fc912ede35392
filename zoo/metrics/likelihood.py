"""Importance-sampled log-likelihood (Burda et al. 2016, eq. 8) and bits per dimension.

log p(x) ~= log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x).

The k samples are drawn in chunks of several samples at a time, each chunk decoded as one batch of
(samples x images), and the chunks' log-sum-exps are merged, so memory stays bounded for any k.

With `compile=True` the decoder and the likelihood's log-density go through torch.compile: the
element-wise work on each decoded pixel (the log-density and its sum) becomes one fused loop instead of
a dozen passes over memory, which otherwise cost as much as the decoder's matrix multiplies on a CPU.
Compiling takes tens of seconds once; without a working compiler the eager code runs, with a
`CompileFallbackWarning`.

Bits per dimension: a Bernoulli likelihood is a probability of the binary pixels, so nll / (D ln 2). A
continuous density on images scaled to [0, 1] is turned into the density of 8-bit images under uniform
dequantisation (pixel values y + u, u ~ U[0, 1), on [0, 256)^D), as the literature reports it
(Theis et al. 2016; Dinh et al. 2017): p(y + u) = p(x) / 256^D, so bits/dim = (nll + D ln 256) / (D ln 2).
"""

import math
import warnings
import weakref
from dataclasses import dataclass

import torch

from zoo.modules.compile import CompileFallbackWarning  # its own class, so that a test can tell

COMPILED = weakref.WeakKeyDictionary()  # vae -> compiled log_likelihood(vae, z, x, labels), holding no vae


@dataclass(frozen=True)
class NLLEstimate:
    """How `lightning test` estimates a VAE's -log p(x) (VAEModule's `test_nll`): test/nll and test/bits_per_dim.

    Args:
        num_samples: k, the samples of q(z|x) per image (Burda et al. 2016: 5000).
        compile: torch.compile the decoder and the likelihood's log-density (the module docstring says why).
    """

    num_samples: int = 5000
    compile: bool = False

    def __post_init__(self):
        if self.num_samples < 1:
            raise ValueError(f"NLLEstimate: num_samples (k) must be >= 1, got {self.num_samples}")


CHUNK_ELEMENTS = 2**22  # decoded pixels per chunk: 16 MiB of float32, within a server CPU's last-level cache


@torch.no_grad()
def importance_sampled_log_likelihood(
    vae, x: torch.Tensor, labels: torch.Tensor | None = None, num_samples: int = 5000, compile: bool = False
) -> torch.Tensor:
    """Estimate log p(x) in nats for each image of x (B, C, H, W); returns (B,)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    chunk = max(1, min(num_samples, CHUNK_ELEMENTS // x[0].numel() // len(x)))
    posterior = vae.encode(x, labels)
    log_likelihood = compiled_log_likelihood(vae) if compile else None
    total = None
    for start in range(0, num_samples, chunk):
        n = min(chunk, num_samples - start)
        log_w = vae.log_importance_weights(x, labels, posterior, n, reparameterize=False,
                                           log_likelihood=log_likelihood)  # (n, B)
        chunk_lse = torch.logsumexp(log_w, dim=0)
        total = chunk_lse if total is None else torch.logaddexp(total, chunk_lse)
    return total - math.log(num_samples)


def compiled_log_likelihood(vae):
    """vae.log_likelihood compiled once per vae. The cache keeps the unbound method: a value that referred to
    the vae (its bound method, a closure over it) would keep every vae it ever saw alive."""
    if vae not in COMPILED:
        COMPILED[vae] = torch.compile(type(vae).log_likelihood)

    def log_likelihood(z, x, labels):
        try:
            return COMPILED[vae](vae, z, x, labels)
        except Exception as error:  # no C++ compiler, an unsupported platform, ...
            warnings.warn(f"torch.compile failed ({type(error).__name__}: {error}); IS-NLL runs eagerly",
                          CompileFallbackWarning, stacklevel=2)
            COMPILED[vae] = type(vae).log_likelihood
            return vae.log_likelihood(z, x, labels)

    return log_likelihood


def bits_per_dim(nll_nats: torch.Tensor, dims: int, levels: int | None = None) -> torch.Tensor:
    """nll in nats of D = `dims` values -> bits per value. `levels`: None for a probability of discrete values
    (Bernoulli); 256 for a continuous density on data scaled to [0, 1] from 8 bits (see the module docstring)."""
    dequantisation = dims * math.log(levels) if levels else 0.0
    return (nll_nats + dequantisation) / (dims * math.log(2))
