"""DCGAN-style convolutional encoder and decoder (Radford et al. 2016) for 28x28, 32x32 and 64x64 images.

Stride-2 4x4 convolutions halve (encoder) or double (decoder) the size; a final 7x7 (for 28) or 4x4
(for 32, 64) convolution maps between the smallest feature map and a vector.
"""

from typing import Literal

import torch
from torch import nn

from zoo.errors import InputError
from zoo.nets.conditioning import append_one_hot
from zoo.nets.spectral import apply_spectral_norm

# image size -> (stride-2 stages, size of the smallest feature map)
LAYOUTS = {28: (2, 7), 32: (3, 4), 64: (4, 4)}


def check_size(image_shape: tuple[int, int, int], net: str) -> tuple[int, int]:
    channels, height, width = image_shape
    if height != width or height not in LAYOUTS:
        raise InputError(
            f"{net} takes square 28x28, 32x32 or 64x64 images; the data has shape {tuple(image_shape)}. "
            "Use MLPEncoder/MLPDecoder or data of a supported size."
        )
    return LAYOUTS[height]


def norm_layer(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


class ConvEncoder(nn.Module):
    """(B, C, H, W) [+ labels] -> (B, out_features). Channels: base, 2*base, 4*base, ...

    Args:
        image_shape: (C, H, W) of the images: 28x28, 32x32 or 64x64.
        out_features: the output's size.
        num_classes: > 0: the one-hot label enters as extra constant input channels.
        base_channels: the first convolution's channels, doubled at each stride-2 stage.
        norm: "batch", batch norm after every hidden convolution but the first (DCGAN); "none", none (the penalties of
            R1, R2 and WGAN-GP need each image's output to depend on that image alone).
        spectral_norm: spectrally normalise every convolution (Miyato et al. 2018).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int,
        num_classes: int = 0,
        base_channels: int = 64,
        norm: Literal["batch", "none"] = "batch",
        spectral_norm: bool = False,
    ):
        super().__init__()
        stages, last_size = check_size(image_shape, "ConvEncoder")
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        channels_in = image_shape[0] + num_classes
        for i in range(stages):
            channels_out = base_channels * 2**i
            layers += [
                nn.Conv2d(channels_in, channels_out, 4, 2, 1, bias=norm == "none" or i == 0),
                norm_layer(norm, channels_out) if i > 0 else nn.Identity(),
                nn.LeakyReLU(0.2),
            ]
            channels_in = channels_out
        layers += [nn.Conv2d(channels_in, out_features, last_size), nn.Flatten()]  # (B, out_features)
        self.net = apply_spectral_norm(nn.Sequential(*layers)) if spectral_norm else nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(append_one_hot(x, labels, self.num_classes))


class ConvDecoder(nn.Module):
    """(B, latent_dim) [+ labels] -> (B, C, H, W). Channels: ..., 4*base, 2*base, base, C.

    Args:
        image_shape: (C, H, W) of the output images: 28x28, 32x32 or 64x64.
        latent_dim: the input's size.
        num_classes: > 0: a one-hot label is appended to the input.
        base_channels: the last hidden stage's channels, doubled towards the input.
        norm: "batch", batch norm after every hidden transposed convolution (DCGAN); "none", none.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        num_classes: int = 0,
        base_channels: int = 64,
        norm: Literal["batch", "none"] = "batch",
    ):
        super().__init__()
        stages, first_size = check_size(image_shape, "ConvDecoder")
        self.num_classes = num_classes
        channels = base_channels * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim + num_classes, channels, first_size, bias=norm == "none"),
            norm_layer(norm, channels),
            nn.ReLU(),
        ]  # (B, channels, first_size, first_size)
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=norm == "none"),
                norm_layer(norm, channels // 2),
                nn.ReLU(),
            ]
            channels //= 2
        layers.append(nn.ConvTranspose2d(channels, image_shape[0], 4, 2, 1))  # (B, C, H, W)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = append_one_hot(z, labels, self.num_classes)
        return self.net(h[:, :, None, None])
