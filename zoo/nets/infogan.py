"""The MNIST networks of InfoGAN (Chen et al. 2016, appendix C.1; openai/InfoGAN, regularized_gan.py), for 28x28.

Generator: FC 1024, BN, ReLU; FC 7x7x128, BN, ReLU; 4x4 up-convolution to 64 channels, BN, ReLU; 4x4
up-convolution to the image's channels (logits: GANModule's sigmoid makes them images).
Discriminator: 4x4 convolution to 64 channels, leaky ReLU; 4x4 convolution to 128, BN, leaky ReLU; FC 1024, BN,
leaky ReLU: the body D and Q share. D's real/fake logit is one linear unit on it; Q has a layer of its own, FC 128,
BN, leaky ReLU, before its linear outputs. Built by GANModule with 1 + the head's outputs: output 0 is D's logit,
the rest are Q's.
"""

from typing import Literal

import torch
from torch import nn

from zoo.errors import InputError
from zoo.nets.conditioning import append_one_hot
from zoo.nets.spectral import apply_spectral_norm


def check_mnist_size(image_shape: tuple[int, int, int], net: str) -> None:
    if tuple(image_shape[1:]) != (28, 28):
        raise InputError(f"{net} is InfoGAN's MNIST network: it takes 28x28 images, the data has {tuple(image_shape)}")


class InfoGANGenerator(nn.Module):
    """(B, latent_dim) [+ the categorical code, one-hot] -> (B, C, 28, 28).

    Args:
        image_shape: (C, 28, 28) of the output images.
        latent_dim: the size of z.
        num_classes: the categorical code's categories (or a conditional GAN's classes), one-hot after z; 0, none.
    """

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int = 0):
        super().__init__()
        check_mnist_size(image_shape, "InfoGANGenerator")
        self.num_classes = num_classes
        self.body = nn.Sequential(
            nn.Linear(latent_dim + num_classes, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(),
            nn.Linear(1024, 128 * 7 * 7, bias=False), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),  # (B, 64, 14, 14)
            nn.ConvTranspose2d(64, image_shape[0], 4, 2, 1),  # (B, C, 28, 28)
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(append_one_hot(z, labels, self.num_classes))


class InfoGANDiscriminator(nn.Module):
    """(B, C, 28, 28) -> (B, out_features): D's logit, then out_features - 1 outputs of Q's own FC-128 layer.

    Args:
        image_shape: (C, 28, 28) of the images.
        out_features: 1 + Q's outputs (1: D alone).
        num_classes: > 0, a conditional GAN's classes, entering by projection (Miyato & Koyama 2018): the logit
            gains embed(y) . h(x), h the 1024 features; 0, unconditional (InfoGAN's codes are inferred by Q).
        norm: "batch", batch norm in the body as the paper's; "none", none (with biases), for the zero-centred
            penalties, which need each image's output to depend on that image alone.
        spectral_norm: spectrally normalise the body's layers and D's logit (Miyato et al. 2018), not Q's head.
    """

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, num_classes: int = 0,
                 norm: Literal["batch", "none"] = "batch", spectral_norm: bool = False):
        super().__init__()
        check_mnist_size(image_shape, "InfoGANDiscriminator")
        if norm not in ("batch", "none"):
            raise InputError(f"InfoGANDiscriminator: norm must be 'batch' or 'none', got {norm!r}")
        batch = norm == "batch"
        self.body = nn.Sequential(  # nn.Identity where a norm is left out, so the weights' names stay the same
            nn.Conv2d(image_shape[0], 64, 4, 2, 1), nn.LeakyReLU(0.1),  # (B, 64, 14, 14)
            nn.Conv2d(64, 128, 4, 2, 1, bias=not batch), nn.BatchNorm2d(128) if batch else nn.Identity(),
            nn.LeakyReLU(0.1),  # (B, 128, 7, 7)
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1024, bias=not batch),
            nn.BatchNorm1d(1024) if batch else nn.Identity(), nn.LeakyReLU(0.1),
        )
        self.real_fake = nn.Linear(1024, 1)
        self.embed = nn.Embedding(num_classes, 1024) if num_classes else None
        if spectral_norm:
            apply_spectral_norm(self.body)
            self.real_fake = nn.utils.parametrizations.spectral_norm(self.real_fake)
            if self.embed is not None:
                self.embed = nn.utils.parametrizations.spectral_norm(self.embed)
        self.q = nn.Sequential(nn.Linear(1024, 128, bias=False), nn.BatchNorm1d(128), nn.LeakyReLU(0.1),
                               nn.Linear(128, out_features - 1)) if out_features > 1 else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        logit = self.real_fake(h)  # (B, 1)
        if self.embed is not None:
            if labels is None:
                raise InputError("this discriminator is class-conditional: pass labels")
            logit = logit + (self.embed(labels) * h).sum(1, keepdim=True)
        return logit if self.q is None else torch.cat([logit, self.q(h)], dim=1)
