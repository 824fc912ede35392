"""Fully connected encoder (image -> features) and decoder (latent -> image) for any image shape."""

import math

import torch
from torch import nn

from zoo.nets.conditioning import append_one_hot
from zoo.nets.spectral import apply_spectral_norm


class GatedLinear(nn.Module):
    """h = (W x + b) * sigmoid(V x + c): the gated dense layer of Dauphin et al. 2017, which Tomczak & Welling's
    VampPrior models use for every hidden layer."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.value, self.gate = nn.Linear(n_in, n_out), nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value(x) * torch.sigmoid(self.gate(x))


def hidden_layer(n_in: int, n_out: int, activation: str, batch_norm: bool = False,
                 dropout: float = 0.0) -> list[nn.Module]:
    """One hidden layer: Linear [+ batch norm] + `torch.nn.<activation>` [+ dropout], or a GatedLinear for "Gated"."""
    norm = [nn.BatchNorm1d(n_out)] if batch_norm else []
    drop = [nn.Dropout(dropout)] if dropout else []
    if activation == "Gated":
        return [GatedLinear(n_in, n_out), *norm, *drop]
    return [nn.Linear(n_in, n_out), *norm, getattr(nn, activation)(), *drop]


def mlp(sizes: list[int], activation: str, batch_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """Hidden layers (`hidden_layer`) between sizes[0] and sizes[-1], then a plain Linear to sizes[-1]."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += hidden_layer(n_in, n_out, activation, batch_norm, dropout)
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """(B, C, H, W) [+ labels] -> (B, out_features).

    Args:
        image_shape: (C, H, W) of the images, flattened at the input.
        out_features: the output's size (a VAE's encoder: twice the latent size, mean and log-variance).
        num_classes: > 0: a one-hot label is appended to the input.
        hidden: the hidden layers' widths.
        activation: the hidden activation, a torch.nn class name, or "Gated" (GatedLinear layers).
        spectral_norm: spectrally normalise every linear layer (Miyato et al. 2018), for a discriminator.
        dropout: the probability of zeroing each hidden unit in training (Goodfellow et al. 2014's discriminator).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int,
        num_classes: int = 0,
        hidden: list[int] = [512, 512],  # noqa: B006 (read only)
        activation: str = "ReLU",
        spectral_norm: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        self.net = mlp([math.prod(image_shape) + num_classes, *hidden, out_features], activation, dropout=dropout)
        if spectral_norm:
            apply_spectral_norm(self.net)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_one_hot(x.flatten(1), labels, self.num_classes))


class MLPDecoder(nn.Module):
    """(B, latent_dim) [+ labels] -> (B, C, H, W).

    Args:
        image_shape: (C, H, W) of the output images.
        latent_dim: the input's size.
        num_classes: > 0: a one-hot label is appended to the input.
        hidden: the hidden layers' widths.
        activation: the hidden activation, a torch.nn class name, or "Gated" (GatedLinear layers).
        batch_norm: batch norm after each hidden linear layer.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        num_classes: int = 0,
        hidden: list[int] = [512, 512],  # noqa: B006 (read only)
        activation: str = "ReLU",
        batch_norm: bool = False,
    ):
        super().__init__()
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        self.net = mlp([latent_dim + num_classes, *hidden, math.prod(image_shape)], activation, batch_norm)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_one_hot(z, labels, self.num_classes)).view(-1, *self.image_shape)


class JointEncoder(nn.Module):
    """q(z1 | x, z2) of Tomczak & Welling's two-level VAE: x and z2 each through a hidden layer of `hidden` units,
    concatenated, then one more hidden layer and a Linear to `out_features`. (B, C, H, W) and (..., B, z2_dim) ->
    (..., B, out_features): the image features are shared by every sample of z2."""

    def __init__(self, image_shape: tuple[int, int, int], z2_dim: int, out_features: int, hidden: int = 300,
                 activation: str = "Gated"):
        super().__init__()
        self.from_x = nn.Sequential(*hidden_layer(math.prod(image_shape), hidden, activation))
        self.from_z2 = nn.Sequential(*hidden_layer(z2_dim, hidden, activation))
        self.joint = mlp([2 * hidden, hidden, out_features], activation)

    def forward(self, x: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        hz = self.from_z2(z2)  # (..., B, hidden)
        hx = self.from_x(x.flatten(1)).expand_as(hz)  # (B, hidden) -> (..., B, hidden)
        return self.joint(torch.cat([hx, hz], dim=-1))
