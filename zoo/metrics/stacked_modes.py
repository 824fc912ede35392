"""The Stacked-MNIST mode metric of VEEGAN and PacGAN (Lin et al. 2018, section 5.2, Table 2).

Each channel of a generated 3x28x28 image is classified by a digit classifier; the three digits give its mode
100 * d0 + 10 * d1 + d2 of 1000. Over the samples (26,000 in the papers) the metric reports the number of modes
with at least one sample and KL(p || uniform) in nats, p the samples' mode histogram: as PacGAN's code computes
it, sum over modes with p_m > 0 of p_m log(1000 p_m). It is 0 when every mode holds the same share and log 1000
when every sample falls in one mode.
"""

import math

import torch
from torch import nn

from zoo.data.stacked_mnist import mode_of

NUM_MODES = 1000


def channel_probabilities(images: torch.Tensor, classifier: nn.Module) -> torch.Tensor:
    """The digit probabilities (B, 3, 10) of each channel of images (B, 3, H, W) in [0, 1]; `classifier` maps
    (N, 1, H, W) to logits (N, 10), or to (features, logits) as zoo.metrics.extractors.DigitFeatures does."""
    out = classifier(images.reshape(-1, 1, *images.shape[2:]))  # (B * 3, 1, H, W)
    logits = out[1] if isinstance(out, tuple) else out
    return logits.softmax(dim=1).reshape(len(images), 3, -1)


def classify_channels(images: torch.Tensor, classifier: nn.Module) -> torch.Tensor:
    """The digit (B, 3) of each channel of images (B, 3, H, W) in [0, 1] (see `channel_probabilities`)."""
    return channel_probabilities(images, classifier).argmax(dim=2)


def classifier_checks(probabilities: torch.Tensor, check_digits: torch.Tensor, confident: float = 0.9) -> dict:
    """How far the mode count can be trusted, from the first classifier's probabilities (N, 3, 10) and a second
    classifier's digits (N, 3): `low_confidence`, the share of channels whose top probability is below
    `confident`; `agreement`, the share of channels on which the two classifiers name the same digit."""
    top, digits = probabilities.max(dim=2)
    return {"low_confidence": float((top < confident).double().mean()),
            "agreement": float((digits == check_digits).double().mean())}


def mode_statistics(digits: torch.Tensor) -> dict[str, float]:
    """modes (those with at least one sample) and kl = KL(p || uniform) of the mode histogram of digits (N, 3)."""
    counts = torch.bincount(mode_of(digits.long()).flatten(), minlength=NUM_MODES).double()
    p = counts[counts > 0] / counts.sum()
    return {"modes": int(len(p)), "kl": float((p * (p * NUM_MODES).log()).sum())}


def kl_floor(num_samples: int) -> float:
    """(K - 1) / (2 N): the first-order expected KL(p || uniform) of N samples from a perfectly uniform generator,
    the metric's floor from sampling alone (0.019 at N = 26,000)."""
    return (NUM_MODES - 1) / (2 * num_samples) if num_samples else math.inf
