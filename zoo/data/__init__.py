"""DataModules. Every one exposes `dims` (C, H, W) before set-up, so the model can be built for it."""

from zoo.data.sprites import Sprites
from zoo.data.stacked_mnist import StackedMNIST
from zoo.data.toy import ToyMixture
from zoo.data.vision import CIFAR10, MNIST, CelebA, DataNotFoundError, Digits, FashionMNIST, ImageFolder

__all__ = ["CIFAR10", "CelebA", "DataNotFoundError", "Digits", "FashionMNIST", "ImageFolder", "MNIST", "Sprites",
           "StackedMNIST", "ToyMixture"]
