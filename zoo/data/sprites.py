"""Sprites: dSprites-like 64x64 binary images that the zoo renders itself from their factors (no download).

This is NOT dSprites (Matthey et al. 2017), only built on its design: every combination of five factors,
- shape: square, ellipse, heart (3);
- scale: 6 values from 0.5 to 1;
- orientation: 40 angles k * 2 pi / 40 in [0, 2 pi) (the square repeats every 10, the ellipse every 20);
- pos_x, pos_y: 32 positions each, from 0 to 1;
is one image, 3 * 6 * 40 * 32 * 32 = 737,280 in all, in dSprites' order (the last factor varies fastest).
The shapes, their sizes and the position range are the zoo's own, so figures on these images do not compare
with figures on dSprites.

A pixel is on when its centre lies inside the shape (no anti-aliasing, like dSprites' binary images): the
shape's frame is the image's rotated by the orientation about the sprite's centre, and the square, ellipse
(semi-axes s and s / 2) and heart are point-in-shape tests there. Images are rendered when a batch is
gathered (a batch of 64 in about 5 ms on one CPU thread), never stored: a split holds only the combination indices,
a fixed-seed permutation of all of them (test first, then validation, then training). Batches are
(images (B, 1, 64, 64) float32 in {0, 1}, factor indices (B, 5) int64), so metrics can read the factors.
"""

import math

import torch
from torch.utils.data import Dataset

from zoo.data.splits import SplitDataModule
from zoo.errors import InputError

IMAGE_SIZE = 64
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")
MAX_HALF_SIZE = 0.14  # of the image side: at scale 1 the square is 18 pixels wide
POSITION_RANGE = (0.22, 0.78)  # of the image side: where a sprite's centre may be; no sprite reaches the border


def factor_values(factors: torch.Tensor) -> dict[str, torch.Tensor]:
    """The values of factor indices (..., 5): shape index, scale, orientation (radians), pos_x and pos_y in [0, 1]."""
    factors = factors.long()
    return {"shape": factors[..., 0],
            "scale": 0.5 + 0.1 * factors[..., 1].double(),  # linspace(0.5, 1, 6)
            "orientation": factors[..., 2].double() * (2 * math.pi / FACTOR_SIZES[2]),
            "pos_x": factors[..., 3].double() / (FACTOR_SIZES[3] - 1),  # linspace(0, 1, 32)
            "pos_y": factors[..., 4].double() / (FACTOR_SIZES[4] - 1)}


def factors_of(indices: torch.Tensor) -> torch.Tensor:
    """Factor indices (N, 5) of combination indices (N,) in 0 .. 737,279 (dSprites' order)."""
    return torch.stack(torch.unravel_index(indices.long(), FACTOR_SIZES), dim=-1)


def inside_square(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u.abs() <= 1) & (v.abs() <= 1)


def inside_ellipse(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Semi-axes 1 along u and 1/2 along v."""
    return u * u + 4 * v * v <= 1


def inside_heart(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The heart (x^2 + y^2 - 1)^3 <= x^2 y^3 (lobes towards +y; |x| <= 1.14, -1 <= y <= 1.25), scaled by 1/1.1
    and centred on its bounding box, lobes towards -v (up in the image, whose y axis points down)."""
    x, y = 1.1 * u, 0.1 - 1.1 * v
    r = x * x + y * y - 1
    return r * r * r <= x * x * y * y * y


INSIDE = (inside_square, inside_ellipse, inside_heart)  # in the order of SHAPES


def render(factors: torch.Tensor) -> torch.Tensor:
    """Binary images (N, 1, 64, 64) float32 of factor indices (N, 5)."""
    values = factor_values(factors)
    low, high = POSITION_RANGE
    centre_x = (low + (high - low) * values["pos_x"]).float()[:, None, None]  # (N, 1, 1), fractions of the side
    centre_y = (low + (high - low) * values["pos_y"]).float()[:, None, None]
    half = (MAX_HALF_SIZE * values["scale"]).float()[:, None, None]
    angle = values["orientation"].float()[:, None, None]
    pixel = (torch.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE  # pixel centres, float32
    dx, dy = pixel[None, None, :] - centre_x, pixel[None, :, None] - centre_y  # (N, 1, W), (N, H, 1); y down
    cos, sin = angle.cos() / half, angle.sin() / half
    u, v = cos * dx + sin * dy, cos * dy - sin * dx  # (N, H, W): the sprite's frame, in units of its half size
    on = torch.empty(u.shape, dtype=torch.bool)
    for shape, inside in enumerate(INSIDE):
        chosen = values["shape"] == shape
        on[chosen] = inside(u[chosen], v[chosen])
    return on[:, None].float()


class SpriteImages(Dataset):
    """The sprites of the combination `indices` (N,): (image, factors) items, or whole batches via __getitems__."""

    def __init__(self, indices: torch.Tensor):
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitems__(self, items: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        factors = factors_of(self.indices[torch.as_tensor(items, dtype=torch.long)])
        return render(factors), factors

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, factors = self.__getitems__([item])
        return images[0], factors[0]


class Sprites(SplitDataModule):
    """dSprites-like sprites rendered by the zoo (see the module docstring; not dSprites itself).

    Args:
        val_size: the images of the validation split; 0, none.
        test_size: the images of the test split.
        num_train: the images of the training split, from those left after the test and validation splits; None,
            all of them.
        batch_size: the images per batch, in every split's loader.
        num_workers: the DataLoader's worker processes; 0, loading in the main process.
        seed: the seed of the permutation the splits are cut from, and of the training order.
    """

    dims = (1, IMAGE_SIZE, IMAGE_SIZE)
    num_classes = 0
    factor_names = FACTOR_NAMES
    factor_sizes = FACTOR_SIZES

    def __init__(self, val_size: int = 5000, test_size: int = 10_000, num_train: int | None = None,
                 batch_size: int = 64, num_workers: int = 0, seed: int = 0):
        super().__init__()
        total = math.prod(FACTOR_SIZES)
        if batch_size < 1 or val_size < 0 or test_size < 1 or val_size + test_size >= total:
            raise InputError(f"Sprites: batch_size >= 1, val_size >= 0, test_size >= 1 and val_size + test_size "
                             f"below {total}; got {batch_size}, {val_size}, {test_size}")
        if num_train is not None and not 1 <= num_train <= total - val_size - test_size:
            raise InputError(f"Sprites: num_train must be in 1 .. {total - val_size - test_size} (None: all the rest), "
                             f"got {num_train}")
        self.val_size, self.test_size, self.num_train = val_size, test_size, num_train
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed
        self.train_set = self.val_set = self.test_set = None

    def setup(self, stage: str) -> None:
        if self.train_set is not None:
            return
        order = torch.randperm(math.prod(FACTOR_SIZES), generator=torch.Generator().manual_seed(self.seed))
        test_end, val_end = self.test_size, self.test_size + self.val_size
        train_end = None if self.num_train is None else val_end + self.num_train
        self.test_set, self.val_set = SpriteImages(order[:test_end]), SpriteImages(order[test_end:val_end])
        self.train_set = SpriteImages(order[val_end:train_end])
