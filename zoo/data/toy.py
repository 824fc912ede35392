"""Low-dimensional mixtures of Gaussians with a known density, for GAN theory checks and the
mode-collapse benchmark of PacGAN (Lin et al. 2018):

- ring: 8 Gaussians on the unit circle, std 0.01;
- grid: 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05;
- bimodal: a 1-D mixture of N(-2, 0.5^2) and N(2, 0.5^2), whose density is easy to plot and integrate.

Batches are (points, mode index). The training set is drawn once with the seed.
"""

import math
from typing import Literal

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from zoo.data.shuffle import ResumableShuffle
from zoo.distributions import gaussian_mixture_log_prob
from zoo.errors import InputError

ToyKind = Literal["ring", "grid", "bimodal"]


def mixture(kind: ToyKind) -> tuple[torch.Tensor, float]:
    """Mode centres (M, d) and the common standard deviation."""
    if kind == "ring":
        angles = torch.arange(8) * (2 * math.pi / 8)
        return torch.stack([angles.cos(), angles.sin()], dim=1), 0.01
    if kind == "grid":
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        return torch.cartesian_prod(axis, axis), 0.05
    if kind == "bimodal":
        return torch.tensor([[-2.0], [2.0]]), 0.5
    raise InputError(f"unknown toy data {kind!r}: choose ring, grid or bimodal")


class ToyMixture(ResumableShuffle, L.LightningDataModule):
    """Points of a mixture of Gaussians with a known density (see the module docstring), with their mode indices.

    Args:
        kind: "ring" (8 2-D Gaussians), "grid" (25 2-D Gaussians) or "bimodal" (two 1-D Gaussians).
        num_train: the points of the training set, drawn once with the seed.
        num_val: the points of the validation set, drawn after them; the test loader serves them too.
        batch_size: the points per batch; the training loader drops its last, incomplete batch.
        seed: the seed of the training and validation draws and of the training order.
    """

    def __init__(self, kind: ToyKind = "ring", num_train: int = 100_000, num_val: int = 2_500,
                 batch_size: int = 500, seed: int = 0):
        super().__init__()
        self.kind, self.num_train, self.num_val, self.batch_size, self.seed = kind, num_train, num_val, batch_size, seed
        self.means, self.std = mixture(kind)
        self.dims = (self.means.shape[1],)
        self.num_classes = len(self.means)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        modes = torch.randint(len(self.means), (n,), generator=generator)
        noise = torch.randn(n, self.means.shape[1], generator=generator)
        return self.means[modes] + self.std * noise, modes

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p_data(x) for points (N, d)."""
        return gaussian_mixture_log_prob(x, self.means, self.std)

    def setup(self, stage: str) -> None:
        generator = torch.Generator().manual_seed(self.seed)
        self.train_set = TensorDataset(*self.sample(self.num_train, generator))
        self.val_set = TensorDataset(*self.sample(self.num_val, generator))

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.batch_size, sampler=self.training_sampler(self.train_set),
                          drop_last=True, generator=self.shuffle_generator)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.batch_size)

    def test_dataloader(self):
        return self.val_dataloader()
