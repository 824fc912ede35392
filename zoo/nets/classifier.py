"""A small convolutional digit classifier, the domain feature extractor for FID/KID on MNIST-family data.

Two 3x3 convolution blocks and a 128-unit hidden layer (the penultimate features used for FID/KID);
the logits feed the Inception-Score analogue. Input: (B, 1, 28, 28) in [0, 1].
"""

import torch
from torch import nn

NUM_FEATURES = 128


class DigitClassifier(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Linear(64 * 7 * 7, NUM_FEATURES), nn.ReLU(),
        )
        self.head = nn.Linear(NUM_FEATURES, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features (B, 128)."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LeNetClassifier(nn.Module):
    """A second digit classifier of another design, to check what the first one scores (the Stacked-MNIST modes):
    LeNet-5's two 5x5 convolution blocks (20 and 50 channels) with batch norm, a 500-unit layer and dropout.
    Input: (B, 1, 28, 28) in [0, 1]; output: logits (B, 10)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.BatchNorm2d(20), nn.ReLU(), nn.MaxPool2d(2),  # (B, 20, 12, 12)
            nn.Conv2d(20, 50, 5), nn.BatchNorm2d(50), nn.ReLU(), nn.MaxPool2d(2),  # (B, 50, 4, 4)
            nn.Flatten(), nn.Linear(50 * 4 * 4, 500), nn.ReLU(), nn.Dropout(0.5), nn.Linear(500, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
