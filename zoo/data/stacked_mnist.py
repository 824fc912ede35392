"""Stacked MNIST (Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN, Table 2): a 1000-mode benchmark.

Each image stacks three MNIST digits, drawn independently and uniformly, as its 3 channels (3x28x28); its mode
is the 3-digit number 100 * d0 + 10 * d1 + d2 of the channels' digit labels (0..999). As in PacGAN's code, the
training set is a fixed draw of 128,000 stacks; here its digits come from the MNIST training split only (PacGAN
drew from training and test images together), and the validation and test stacks are fixed draws from the test
split, with seeds of their own. A split holds the index triples (N, 3), not the images: a batch gathers its
digits with one indexing operation.
"""

import torch
from torch.utils.data import Dataset

from zoo.data.vision import MNIST, InMemoryImages


class StackedDigits(Dataset):
    """Stacks of three digits: (uint8 images (B, 3, H, W), mode labels (B,)) gathered from `triples` (N, 3) into
    the single-channel `digits` (M, 1, H, W) with their labels (M,)."""

    def __init__(self, digits: torch.Tensor, labels: torch.Tensor, triples: torch.Tensor):
        self.digits, self.labels, self.triples = digits, labels, triples

    def __len__(self) -> int:
        return len(self.triples)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        triples = self.triples[torch.as_tensor(indices)]  # (B, 3)
        images = self.digits[triples].squeeze(2)  # (B, 3, 1, H, W) -> (B, 3, H, W)
        return images, mode_of(self.labels[triples])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, modes = self.__getitems__([index])
        return images[0], modes[0]


def mode_of(digits: torch.Tensor) -> torch.Tensor:
    """The mode index 100 * d0 + 10 * d1 + d2 (0..999) of digit triples (..., 3)."""
    return digits[..., 0] * 100 + digits[..., 1] * 10 + digits[..., 2]


class StackedMNIST(MNIST):
    """Three MNIST digits stacked as the channels of a 3x28x28 image; labels are the 1000 modes.

    Args:
        root: the folder that holds MNIST (torchvision's layout).
        download: download MNIST into `root` when it is missing.
        num_train: the stacks of the training split, drawn from the MNIST training digits.
        val_size: the stacks of the validation split, drawn from the MNIST test digits.
        test_size: the stacks of the test split, drawn from the MNIST test digits.
        batch_size: the stacks per batch, in every split's loader.
        num_workers: the DataLoader's worker processes; 0, loading in the main process.
        seed: the seed of the training order and of the stacks' draws (seed, seed + 1 and seed + 2 for the training,
            validation and test stacks).
    """

    dims = (3, 28, 28)
    num_classes = 1000

    def __init__(self, root: str = "data", download: bool = False, num_train: int = 128_000, val_size: int = 5000,
                 test_size: int = 10_000, batch_size: int = 64, num_workers: int = 0, seed: int = 42):
        super().__init__(root=root, download=download, val_size=val_size, batch_size=batch_size,
                         num_workers=num_workers, seed=seed)
        if min(num_train, val_size, test_size) < 1:
            raise ValueError(f"num_train, val_size and test_size must be >= 1, got {num_train}, {val_size}, "
                             f"{test_size}")
        self.num_train, self.test_size = num_train, test_size

    def setup(self, stage: str) -> None:
        if self.train_set is None:
            self.train_set, self.val_set, self.test_set = (self.reference_images(s) for s in ("train", "val", "test"))

    def reference_images(self, split: str = "test") -> StackedDigits:
        """The fixed stacks of `split`: train from the MNIST training digits, val and test from the test digits."""
        if split not in ("test", "val", "train"):
            raise ValueError(f"split must be test, val or train, got {split!r}")
        digits: InMemoryImages = self.to_tensors(self.load_or_explain(split == "train", False), False)
        size, offset = {"train": (self.num_train, 0), "val": (self.val_size, 1), "test": (self.test_size, 2)}[split]
        generator = torch.Generator().manual_seed(self.seed + offset)
        triples = torch.randint(len(digits), (size, 3), generator=generator)  # digits drawn with replacement
        return StackedDigits(*digits.tensors, triples)
