"""Image DataModules over one base: a subclass says how to load its splits and what shape they have.

Small data sets (MNIST, Fashion-MNIST, CIFAR-10, scikit-learn's digits) are held in memory as uint8
tensors and scaled to [0, 1] after the batch reaches the device. Binarisation (`binarize`):
"dynamic" draws x ~ Bernoulli(pixel intensity) afresh for every training batch, while validation and
test images are binarised once with a fixed seed so evaluations are comparable; "static" binarises every
split once with a fixed seed.
"""

import os
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset, TensorDataset, random_split
from torchvision import datasets, transforms

from zoo.data.splits import SplitDataModule
from zoo.errors import DataNotFoundError, InputError

Binarize = Literal["none", "dynamic", "static"]


class InMemoryImages(TensorDataset):
    """(uint8 images, labels) tensors; a batch is gathered with one indexing operation, not per item."""

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return self.tensors[0][index], self.tensors[1][index]


class VisionDataModule(SplitDataModule):
    """The shared image data module: a subclass says how to load its training and test splits (`load`).

    Args:
        root: the folder that holds the data set's files (torchvision's layout).
        download: download the files into `root` when they are missing.
        val_size: the training images held out as the validation split (a fixed-seed random split); 0, none.
        batch_size: the images per batch, in every split's loader.
        num_workers: the DataLoader's worker processes; 0, loading in the main process.
        binarize: "none", grey levels in [0, 1]; "dynamic", training images drawn as Bernoulli(pixel intensity)
            afresh every batch, validation and test images binarised once; "static", every split binarised once
            (in-memory data sets only).
        seed: the seed of the validation split, the `train_size` subset, the fixed binarisations and the training
            order.
        train_size: keep only this many training images (a fixed-seed subset, for data-efficiency runs); None, all
            those left after `val_size`.
    """

    dims: tuple[int, int, int]
    num_classes: int = 10
    in_memory: bool = True  # splits are (uint8 images, labels) tensors

    def __init__(
        self,
        root: str = "data",
        download: bool = False,
        val_size: int = 5000,
        batch_size: int = 128,
        num_workers: int = 0,
        binarize: Binarize = "none",
        seed: int = 42,
        train_size: int | None = None,
    ):
        super().__init__()
        if binarize not in ("none", "dynamic", "static"):
            raise InputError(f"binarize must be none, dynamic or static, got {binarize!r}")
        if binarize != "none" and not self.in_memory:
            raise InputError(f"{type(self).__name__} does not support binarize={binarize!r}")
        if batch_size < 1 or val_size < 0:
            raise InputError(f"batch_size must be >= 1 and val_size >= 0, got {batch_size}, {val_size}")
        if train_size is not None and train_size < 1:
            raise InputError(f"train_size must be >= 1 (or None: every training image), got {train_size}")
        self.root, self.download = str(root), download
        self.val_size, self.batch_size, self.num_workers = val_size, batch_size, num_workers
        self.binarize, self.seed, self.train_size = binarize, seed, train_size
        self.train_set = self.val_set = self.test_set = None

    # --- what a subclass provides ----------------------------------------------------------------
    def load(self, train: bool, download: bool):
        """The training (train=True) or test split: a torchvision data set or an (images, labels) pair."""
        raise NotImplementedError

    def expected_files(self) -> list[str]:
        """The files a missing-data message names."""
        raise NotImplementedError

    # --- the shared machinery --------------------------------------------------------------------
    def load_or_explain(self, train: bool, download: bool):
        name = type(self).__name__
        try:
            return self.load(train, download)
        except RuntimeError as error:  # torchvision: "Dataset not found or corrupted"
            if download:
                raise DataNotFoundError(f"{name}: download to {self.root!r} failed ({error}).") from error
            files = ", ".join(self.expected_files())
            raise DataNotFoundError(
                f"{name}: data not found under root={self.root!r} (looked for {files}). "
                f"Point --data.root at the folder that holds them, or pass --data.download=true."
            ) from None
        except OSError as error:  # network failures while downloading
            raise DataNotFoundError(f"{name}: download to {self.root!r} failed ({error}).") from error

    def prepare_data(self) -> None:
        if self.download:
            self.load_or_explain(train=True, download=True)
            self.load_or_explain(train=False, download=True)

    def setup(self, stage: str) -> None:
        if self.train_set is not None:
            return
        train, test = self.load_or_explain(True, False), self.load_or_explain(False, False)
        if self.in_memory:
            train, test = self.to_tensors(train, fixed_binarization=self.binarize == "static"), \
                self.to_tensors(test, fixed_binarization=self.binarize != "none")
        self.train_set, self.val_set = self.split_train_val(train)
        if self.in_memory and self.binarize == "dynamic":  # validation images are binarised once
            images, labels = train.tensors
            idx = torch.as_tensor(self.val_set.indices, dtype=torch.long)  # long even when empty (val_size=0)
            self.val_set = self.to_tensors((images[idx], labels[idx]), fixed_binarization=True)
        self.test_set = test

    def reference_images(self, split: str = "test") -> Dataset:
        """The images of `split` (test, val or train) as stored, never binarised: the real side of FID/KID.
        In-memory data comes back as an InMemoryImages of uint8 tensors."""
        if split not in ("test", "val", "train"):
            raise InputError(f"split must be test, val or train, got {split!r}")
        data = self.load_or_explain(train=split != "test", download=False)
        if self.in_memory:
            data = self.to_tensors(data, fixed_binarization=False)
        if split == "test":
            return data
        train, val = self.split_train_val(data)
        chosen = val if split == "val" else train
        if self.in_memory:
            index = torch.as_tensor(chosen.indices, dtype=torch.long)
            return InMemoryImages(data.tensors[0][index], data.tensors[1][index])
        return chosen

    def split_train_val(self, train: Dataset) -> list[Subset]:
        """The training split's (train, val) subsets, the same for every call with the same seed."""
        if not 0 <= self.val_size < len(train):
            raise InputError(f"val_size={self.val_size} must be below the {len(train)} training images")
        generator = torch.Generator().manual_seed(self.seed)
        kept, val = random_split(train, [len(train) - self.val_size, self.val_size], generator)
        if self.train_size is not None:
            if self.train_size > len(kept):
                raise InputError(f"train_size={self.train_size} exceeds the {len(kept)} training images left "
                                 f"after val_size={self.val_size}")
            kept = Subset(train, kept.indices[: self.train_size])  # the split's order is already a fixed shuffle
        return [kept, val]

    def to_tensors(self, data, fixed_binarization: bool) -> TensorDataset:
        images, labels = data if isinstance(data, tuple) else (data.data, data.targets)
        images, labels = torch.as_tensor(images), torch.as_tensor(labels)
        if images.dim() == 3:
            images = images[:, None]  # (N, 1, H, W)
        elif images.shape[-1] in (1, 3):
            images = images.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        if fixed_binarization:
            generator = torch.Generator().manual_seed(self.seed + 1)
            images = (torch.rand(images.shape, generator=generator) < images / 255.0).to(torch.uint8) * 255
        return InMemoryImages(images.contiguous(), labels.long())

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        x, labels = batch
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        if self.binarize == "dynamic" and self.trainer is not None and self.trainer.training:
            x = torch.bernoulli(x)
        return x, labels

    @property
    def gathers_batches(self) -> bool:
        return self.in_memory


def torchvision_raw_files(root: str, dataset_cls) -> list[str]:
    raw = Path(root) / dataset_cls.__name__ / "raw"
    return [str(raw / os.path.splitext(os.path.basename(url))[0]) for url, _ in dataset_cls.resources]


class MNIST(VisionDataModule):
    """MNIST digits (LeCun et al. 1998): 60k training and 10k test images, 1x28x28."""

    dims = (1, 28, 28)
    dataset_cls = datasets.MNIST

    def load(self, train, download):
        return self.dataset_cls(self.root, train=train, download=download)

    def expected_files(self):
        return torchvision_raw_files(self.root, self.dataset_cls)


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao et al. 2017): Zalando clothing images, 1x28x28."""

    dataset_cls = datasets.FashionMNIST


class CIFAR10(VisionDataModule):
    """CIFAR-10 (Krizhevsky 2009): 50k training and 10k test images, 3x32x32."""

    dims = (3, 32, 32)

    def load(self, train, download):
        return datasets.CIFAR10(self.root, train=train, download=download)

    def expected_files(self):
        folder = Path(self.root) / datasets.CIFAR10.base_folder
        names = [name for name, _ in datasets.CIFAR10.train_list + datasets.CIFAR10.test_list]
        return [str(folder / name) for name in names]


class Digits(VisionDataModule):
    """scikit-learn's bundled 8x8 handwritten digits (1797 images): needs no download.

    Upsampled bilinearly to `image_size` (28 by default, so MNIST recipes apply); 297 images are held
    out as the test split, with the fixed seed.

    Args:
        image_size: the side in pixels the 8x8 images are upsampled to (bilinearly); 8, the original images.
        val_size: the training images (1500) held out as the validation split (a fixed-seed random split); 0, none.
    """

    test_size = 297

    def __init__(self, image_size: int = 28, val_size: int = 200, **kwargs):
        self.dims = (1, image_size, image_size)
        super().__init__(val_size=val_size, **kwargs)

    def load(self, train, download):
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # (N, 1, 8, 8)
        if self.dims[1] != 8:
            images = F.interpolate(images, size=self.dims[1:], mode="bilinear", align_corners=False)
        images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
        chosen = order[self.test_size:] if train else order[: self.test_size]
        return images[chosen], torch.tensor(digits.target)[chosen]

    def expected_files(self):
        return ["sklearn/datasets/data/digits.csv.gz (ships with scikit-learn)"]


class ImageFolder(VisionDataModule):
    """Any folder of images laid out as root/<class>/<image>, resized and centre-cropped to `image_size`.

    A `test_size` share is held out as the test split (fixed seed).

    Args:
        root: the folder laid out as root/<class>/<image>.
        image_size: the side in pixels: images are resized (their shorter side) and centre-cropped to it.
        channels: 3, RGB, or 1, the images made grayscale.
        val_size: the images, of those left after the test split, held out as the validation split (fixed seed).
        test_size: the images held out as the test split (a fixed-seed random split).
    """

    in_memory = False

    def __init__(self, root: str, image_size: int = 64, channels: int = 3, val_size: int = 500,
                 test_size: int = 500, **kwargs):
        if channels not in (1, 3):
            raise InputError(f"channels must be 1 or 3, got {channels}")
        self.dims, self.test_size = (channels, image_size, image_size), test_size
        super().__init__(root=root, val_size=val_size, **kwargs)

    def transform(self):
        steps = [transforms.Resize(self.dims[1]), transforms.CenterCrop(self.dims[1])]
        if self.dims[0] == 1:
            steps.append(transforms.Grayscale())
        return transforms.Compose([*steps, transforms.ToTensor()])

    def load(self, train, download):
        if not Path(self.root).is_dir():
            raise RuntimeError("folder not found")
        full = datasets.ImageFolder(self.root, transform=self.transform())
        self.num_classes = len(full.classes)
        if not 0 <= self.test_size < len(full):
            raise InputError(f"test_size={self.test_size} must be below the {len(full)} images in {self.root}")
        generator = torch.Generator().manual_seed(self.seed)
        rest, test = random_split(full, [len(full) - self.test_size, self.test_size], generator)
        return rest if train else test

    def expected_files(self):
        return [f"{self.root}/<class>/<image>.png|jpg (a torchvision ImageFolder layout)"]


class CelebA(ImageFolder):
    """CelebA aligned faces (Liu et al. 2015), centre-cropped to 140 and resized to 64x64.

    Args:
        root: the folder that holds `celeba/` (torchvision's layout: `img_align_celeba/` and the list files).
        image_size: the side in pixels the 140x140 centre crops are resized to.
        val_size: not used: the validation split is CelebA's own (`valid`).
    """

    def __init__(self, root: str = "data", image_size: int = 64, val_size: int = 0, **kwargs):
        super().__init__(root=root, image_size=image_size, channels=3, val_size=val_size, **kwargs)

    def transform(self):
        return transforms.Compose([transforms.CenterCrop(140), transforms.Resize(self.dims[1]),
                                   transforms.ToTensor()])

    def load(self, train, download):
        transform = self.transform()
        split = "train" if train else "test"
        return datasets.CelebA(self.root, split=split, target_type="identity", transform=transform,
                               download=download)

    def setup(self, stage: str) -> None:  # CelebA has its own validation split
        if self.train_set is not None:
            return
        self.train_set = self.load_or_explain(True, False)
        self.val_set = datasets.CelebA(self.root, split="valid", target_type="identity",
                                       transform=self.transform())
        self.test_set = self.load_or_explain(False, False)

    def reference_images(self, split: str = "test") -> Dataset:
        if split not in ("test", "val", "train"):
            raise InputError(f"split must be test, val or train, got {split!r}")
        name = {"val": "valid"}.get(split, split)
        return datasets.CelebA(self.root, split=name, target_type="identity", transform=self.transform())

    def expected_files(self):
        base = Path(self.root) / "celeba"
        return [str(base / name) for name in ("img_align_celeba/", "list_eval_partition.txt",
                                               "identity_CelebA.txt", "list_attr_celeba.txt")]
