"""Fully connected encoder (image -> features) and decoder (latent -> image) for any image shape."""

import math

import torch
from torch import nn

from zoo.nets.conditioning import append_one_hot
from zoo.nets.spectral import apply_spectral_norm


def mlp(sizes: list[int], activation: str, batch_norm: bool = False) -> nn.Sequential:
    """Linear layers with `torch.nn.<activation>` between them (after batch norm, if asked), none after the last."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(getattr(nn, activation)())
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """(B, C, H, W) [+ labels] -> (B, out_features)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int,
        num_classes: int = 0,
        hidden: list[int] = [512, 512],  # noqa: B006 (read only)
        activation: str = "ReLU",  # a torch.nn class name
        spectral_norm: bool = False,
    ):
        super().__init__()
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        self.net = mlp([math.prod(image_shape) + num_classes, *hidden, out_features], activation)
        if spectral_norm:
            apply_spectral_norm(self.net)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_one_hot(x.flatten(1), labels, self.num_classes))


class MLPDecoder(nn.Module):
    """(B, latent_dim) [+ labels] -> (B, C, H, W)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        num_classes: int = 0,
        hidden: list[int] = [512, 512],  # noqa: B006 (read only)
        activation: str = "ReLU",  # a torch.nn class name
        batch_norm: bool = False,
    ):
        super().__init__()
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        self.net = mlp([latent_dim + num_classes, *hidden, math.prod(image_shape)], activation, batch_norm)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_one_hot(z, labels, self.num_classes)).view(-1, *self.image_shape)
