"""Feature extractors for FID, KID and the Inception Score, each stamped with the protocol that names it.

- `digit_classifier`: the project's MNIST classifier (`zoo.nets.classifier`, trained by
  `benchmarks/train_digit_classifier.py`, weights in `checkpoints/digit_classifier.mnist/`), for
  MNIST-family data: 128 penultimate features and 10 logits. Images are made grayscale and, if they are not
  28x28, resized bilinearly with antialiasing.
- `inception`: torch-fidelity's InceptionV3 port (the network torchmetrics' FID uses) (2048 pool features, 1008
  unbiased logits). Its weights are downloaded on first use, or read from a local file (`weights_path`)
  for machines without internet. Images are made RGB uint8; the network resizes them to 299x299 as TensorFlow 1 did.

An extractor maps images (B, C, H, W) in [0, 1] to (features (B, F), logits (B, K)) in one pass.
"""

from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from zoo.errors import InputError
from zoo.hub.folders import sha256_of
from zoo.hub.recipes import CHECKPOINTS
from zoo.nets.classifier import NUM_FEATURES, DigitClassifier, LeNetClassifier

DIGIT_CLASSIFIER_WEIGHTS = CHECKPOINTS / "digit_classifier.mnist" / "model.safetensors"  # in a wheel too
CHECK_CLASSIFIER_WEIGHTS = CHECKPOINTS / "digit_classifier_lenet.mnist" / "model.safetensors"  # in a wheel too


def check_classifier(weights_path: str | Path | None = None) -> nn.Module:
    """The second digit classifier (`LeNetClassifier`, another design, seed and augmentation), in eval mode:
    images (B, 1, 28, 28) in [0, 1] -> logits (B, 10). Its `protocol` names it and its weights' sha256."""
    path = Path(weights_path or CHECK_CLASSIFIER_WEIGHTS)
    if not path.is_file():
        raise FileNotFoundError(f"second digit classifier weights not found at {path}: train them with `python "
                                f"benchmarks/train_digit_classifier.py --root <MNIST root> --architecture lenet "
                                f"--seed 1 --shift 2 --out {path}`")
    net = LeNetClassifier()
    net.load_state_dict(load_file(str(path)))
    net.eval().requires_grad_(False)
    net.protocol = {"classifier": "digit_classifier_lenet.mnist", "weights_sha256": sha256_of(path)}
    return net


class DigitFeatures(nn.Module):
    num_features = NUM_FEATURES

    def __init__(self, weights_path: str | Path | None = None):
        super().__init__()
        path = Path(weights_path or DIGIT_CLASSIFIER_WEIGHTS)
        if not path.is_file():
            raise FileNotFoundError(f"digit classifier weights not found at {path}: train them with "
                                    f"`python benchmarks/train_digit_classifier.py --root <MNIST root>`")
        self.net = DigitClassifier()
        self.net.load_state_dict(load_file(str(path)))
        self.net.eval().requires_grad_(False)
        self.protocol = {"extractor": "digit_classifier.mnist (penultimate 128 features)",
                         "weights_sha256": sha256_of(path), "input": "grayscale 28x28",
                         "resize": "bilinear, antialias (only when not 28x28)"}

    def train(self, mode: bool = True):
        return super().train(False)  # a fixed measuring instrument

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = images.float()
        if x.shape[1] == 3:
            x = (x * torch.tensor([0.299, 0.587, 0.114], device=x.device)[:, None, None]).sum(1, keepdim=True)
        if x.shape[-2:] != (28, 28):
            x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
        features = self.net.features(x)
        return features, self.net.head(features)


class InceptionFeatures(nn.Module):
    num_features = 2048

    def __init__(self, weights_path: str | Path | None = None):
        super().__init__()
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        if weights_path is not None:
            if not Path(weights_path).is_file():
                raise FileNotFoundError(f"Inception weights file not found: {weights_path}")
            torch.load(weights_path, weights_only=True, map_location="cpu")  # refuses pickled code
        try:
            self.net = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["2048", "logits_unbiased"],
                feature_extractor_weights_path=None if weights_path is None else str(weights_path))
        except OSError as error:  # urllib errors are OSErrors
            raise RuntimeError(
                f"could not download the InceptionV3 weights ({error}). Offline, download "
                f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                f"weights-inception-2015-12-05-6726825d.pth elsewhere and pass its path as the extractor's "
                f"weights_path (SampleQuality: --trainer.callbacks.init_args.inception_weights)") from error
        if weights_path is None:
            weights_path = Path(torch.hub.get_dir()) / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
        self.protocol = {"extractor": "inception-v3-compat (torch-fidelity, pool3 2048 features)",
                         "weights_sha256": sha256_of(weights_path) if Path(weights_path).is_file() else "unknown",
                         "input": "RGB uint8", "resize": "299x299 bilinear (TensorFlow-1 compatible)"}

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = images.clamp(0, 1).mul(255).round().to(torch.uint8)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        features, logits = self.net(x)
        return features.reshape(len(x), -1), logits.reshape(len(x), -1)


def build_extractor(name: str, weights_path: str | Path | None = None) -> nn.Module:
    if name == "digit_classifier":
        return DigitFeatures(weights_path)
    if name == "inception":
        return InceptionFeatures(weights_path)
    raise InputError(f"unknown feature extractor {name!r}: choose digit_classifier or inception")
