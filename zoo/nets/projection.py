"""Projection discriminator (Miyato & Koyama 2018) for class-conditional GANs:

    logit(x, y) = w . h(x) + embed(y) . h(x),

where h is any encoder's feature vector. The label enters by an inner product, not by concatenation.
"""

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import InputError
from zoo.factories import build
from zoo.nets.dcgan import ConvEncoder
from zoo.nets.spectral import apply_spectral_norm


class ProjectionDiscriminator(nn.Module):
    """The projection discriminator (Miyato & Koyama 2018): D(x, y) = linear(h(x)) + embed(y) . h(x).

    Args:
        image_shape: (C, H, W) of the images.
        out_features: the output's size.
        num_classes: > 0: the class embedding's rows (the projection term); 0, an unconditional linear head.
        features: h, the feature network, built as features(image_shape, feature_dim, 0).
        feature_dim: the size of h(x).
        spectral_norm: spectrally normalise every layer (Miyato et al. 2018).
    """

    def __init__(self, image_shape: tuple[int, ...], out_features: int, num_classes: int = 0,
                 features: dict | type = ConvEncoder, feature_dim: int = 256, spectral_norm: bool = True):
        super().__init__()
        self.features = build(features, image_shape, feature_dim, 0)  # h(x): (B, feature_dim)
        self.linear = nn.Linear(feature_dim, out_features)
        self.embed = nn.Embedding(num_classes, feature_dim) if num_classes else None
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self.features(x))
        out = self.linear(h)
        if self.embed is not None:
            if labels is None:
                raise InputError("this discriminator is class-conditional: pass labels")
            out = out + (self.embed(labels) * h).sum(1, keepdim=True)
        return out
