"""The VQ-VAE's convolutional encoder and decoder (van den Oord et al. 2017, as in Sonnet's VQ-VAE example): two
stride-2 4x4 convolutions, a 3x3 convolution and a stack of residual blocks (ReLU, 3x3 conv, ReLU, 1x1 conv), then a
1x1 convolution to `code_dim` channels; the decoder mirrors it. Images (B, C, H, W) with H and W divisible by 4
map to grids of vectors (B, code_dim, H/4, W/4) (MNIST: 7x7) and back. Built as `Net(image_shape, code_dim)`.
"""

import torch
from torch import nn

from zoo.errors import InputError


class ResidualStack(nn.Module):
    def __init__(self, channels: int, hidden: int, layers: int):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReLU(), nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                                                  nn.Conv2d(hidden, channels, 1)) for _ in range(layers))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = h + block(h)
        return torch.relu(h)


def check_size(image_shape: tuple[int, int, int], net: str) -> None:
    if image_shape[1] % 4 or image_shape[2] % 4:
        raise InputError(f"{net} halves the image size twice: height and width must be multiples of 4, got "
                         f"{tuple(image_shape)}")


class VQEncoder(nn.Module):
    """(B, C, H, W) -> (B, code_dim, H/4, W/4).

    Args:
        image_shape: (C, H, W) of the images.
        code_dim: the size of each output vector.
        hidden: the convolutions' channels.
        residual_hidden: the residual blocks' inner channels.
        residual_layers: the number of residual blocks.
    """

    def __init__(self, image_shape: tuple[int, int, int], code_dim: int, hidden: int = 64, residual_hidden: int = 32,
                 residual_layers: int = 2):
        super().__init__()
        check_size(image_shape, "VQEncoder")
        self.net = nn.Sequential(
            nn.Conv2d(image_shape[0], hidden // 2, 4, 2, 1), nn.ReLU(),  # (B, hidden/2, H/2, W/2)
            nn.Conv2d(hidden // 2, hidden, 4, 2, 1), nn.ReLU(),  # (B, hidden, H/4, W/4)
            nn.Conv2d(hidden, hidden, 3, padding=1),
            ResidualStack(hidden, residual_hidden, residual_layers),
            nn.Conv2d(hidden, code_dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class VQDecoder(nn.Module):
    """(B, code_dim, H/4, W/4) -> (B, C, H, W): pixel means, unbounded.

    Args:
        image_shape: (C, H, W) of the output images.
        code_dim: the size of each input vector.
        hidden: the convolutions' channels.
        residual_hidden: the residual blocks' inner channels.
        residual_layers: the number of residual blocks.
    """

    def __init__(self, image_shape: tuple[int, int, int], code_dim: int, hidden: int = 64, residual_hidden: int = 32,
                 residual_layers: int = 2):
        super().__init__()
        check_size(image_shape, "VQDecoder")
        self.net = nn.Sequential(
            nn.Conv2d(code_dim, hidden, 3, padding=1),
            ResidualStack(hidden, residual_hidden, residual_layers),
            nn.ConvTranspose2d(hidden, hidden // 2, 4, 2, 1), nn.ReLU(),  # (B, hidden/2, H/2, W/2)
            nn.ConvTranspose2d(hidden // 2, image_shape[0], 4, 2, 1),  # (B, C, H, W)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
