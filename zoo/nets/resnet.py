"""ResNet generator and discriminator for 32x32 images in the SNGAN style (Miyato et al. 2018, Table 4;
Gulrajani et al. 2017): three up-sampling residual blocks in G, four residual blocks with two
down-samplings in D, global sum pooling, spectral normalisation in D."""

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import InputError
from zoo.nets.conditioning import append_one_hot
from zoo.nets.spectral import apply_spectral_norm


def check_32(image_shape, net: str) -> None:
    if tuple(image_shape[1:]) != (32, 32):
        raise InputError(f"{net} takes 32x32 images; the data has shape {tuple(image_shape)}")


class UpBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(channels), nn.BatchNorm2d(channels)
        self.conv1, self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1), nn.Conv2d(channels, channels, 3, 1, 1)
        self.shortcut = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class DownBlock(nn.Module):
    def __init__(self, channels_in: int, channels: int, downsample: bool, first: bool = False):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(channels_in, channels, 3, 1, 1), nn.Conv2d(channels, channels, 3, 1, 1)
        self.shortcut = nn.Conv2d(channels_in, channels, 1) if channels_in != channels or downsample else None
        self.downsample, self.first = downsample, first

    def forward(self, x):
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        skip = x
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.shortcut is not None:
            skip = self.shortcut(skip)
            skip = F.avg_pool2d(skip, 2) if self.downsample else skip
        return h + skip


class ResNetGenerator(nn.Module):
    """(B, latent_dim) [+ labels] -> (B, C, 32, 32): SNGAN's CIFAR-10 ResNet generator (Miyato et al. 2018).

    Args:
        image_shape: (C, 32, 32) of the output images.
        latent_dim: the input's size.
        num_classes: > 0: a one-hot label is appended to the input.
        channels: the residual blocks' channels.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int = 0,
                 channels: int = 256):
        super().__init__()
        check_32(image_shape, "ResNetGenerator")
        self.num_classes, self.channels = num_classes, channels
        self.linear = nn.Linear(latent_dim + num_classes, 4 * 4 * channels)
        self.blocks = nn.Sequential(UpBlock(channels), UpBlock(channels), UpBlock(channels))  # 4 -> 32
        self.out = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, image_shape[0], 3, 1, 1))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.linear(append_one_hot(z, labels, self.num_classes)).view(-1, self.channels, 4, 4)
        return self.out(self.blocks(h))


class ResNetDiscriminator(nn.Module):
    """(B, C, 32, 32) [+ labels] -> (B, out_features): SNGAN's CIFAR-10 ResNet discriminator.

    Args:
        image_shape: (C, 32, 32) of the images.
        out_features: the output's size.
        num_classes: > 0: the one-hot label enters as extra constant input channels.
        channels: the residual blocks' channels.
        spectral_norm: spectrally normalise every layer (Miyato et al. 2018).
    """

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, num_classes: int = 0,
                 channels: int = 128, spectral_norm: bool = True):
        super().__init__()
        check_32(image_shape, "ResNetDiscriminator")
        self.num_classes = num_classes
        self.blocks = nn.Sequential(
            DownBlock(image_shape[0] + num_classes, channels, downsample=True, first=True),  # 32 -> 16
            DownBlock(channels, channels, downsample=True),  # 16 -> 8
            DownBlock(channels, channels, downsample=False),
            DownBlock(channels, channels, downsample=False),
        )
        self.linear = nn.Linear(channels, out_features)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self.blocks(append_one_hot(x, labels, self.num_classes)))
        return self.linear(h.sum(dim=(2, 3)))  # global sum pooling
