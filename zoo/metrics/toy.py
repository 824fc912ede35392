"""Mode-collapse metrics of PacGAN (Lin et al. 2018, section 5.1) on 2-D mixtures.

A generated point is high quality if it lies within `threshold` standard deviations of its nearest mode;
a mode is captured if at least one high-quality point is nearest to it; the reverse KL is
KL(histogram of high-quality points over modes || uniform).
"""

import math

import torch


def mode_statistics(samples: torch.Tensor, means: torch.Tensor, std: float, threshold: float = 3.0) -> dict:
    distances = torch.cdist(samples.float(), means.float())  # (N, M)
    nearest_distance, nearest_mode = distances.min(dim=1)
    high_quality = nearest_distance <= threshold * std
    counts = torch.bincount(nearest_mode[high_quality], minlength=len(means)).double()
    if counts.sum() == 0:
        reverse_kl = math.inf
    else:
        p = counts / counts.sum()
        p = p[p > 0]
        reverse_kl = float((p * (p * len(means)).log()).sum())
    return {
        "modes": int((counts > 0).sum()),
        "high_quality": float(high_quality.double().mean()),
        "reverse_kl": reverse_kl,
    }
