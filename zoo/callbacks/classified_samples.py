"""The shared part of callbacks that draw samples with a seed and read them with the shipped digit classifier."""

import lightning as L

from zoo.callbacks.schedule import TestAndEveryNEpochs
from zoo.errors import InputError
from zoo.metrics.extractors import build_extractor


class ClassifiedSamples(TestAndEveryNEpochs):
    """Samples of the module read by the digit classifier, at `lightning test` and every N validation epochs.

    Args:
        num_samples: the samples drawn per evaluation (64 in a fast_dev_run).
        every_n_epochs: also evaluate after every N-th validation epoch of a fit; 0, only at `lightning test`.
        batch_size: the samples generated and classified per batch.
        weights_path: the digit classifier's weights file; None, the shipped `checkpoints/digit_classifier.mnist`.
        seed: the seed the samples are drawn with (training's random state is left untouched).
    """

    def __init__(self, num_samples: int, every_n_epochs: int = 0, batch_size: int = 500,
                 weights_path: str | None = None, seed: int = 0):
        super().__init__()
        if num_samples < 1 or every_n_epochs < 0 or batch_size < 1:
            raise InputError(f"{type(self).__name__}: num_samples >= 1, every_n_epochs >= 0 and batch_size >= 1")
        self.num_samples, self.every_n_epochs, self.batch_size = num_samples, every_n_epochs, batch_size
        self.weights_path, self.seed = weights_path, seed
        self.classifier = None
        self.protocol: dict = {}

    def prepare(self, trainer: L.Trainer, module: L.LightningModule) -> int:
        """Loads the classifier onto the module's device; returns how many samples to draw (64 in a fast_dev_run)."""
        if self.classifier is None:
            self.classifier = build_extractor("digit_classifier", self.weights_path)
        self.classifier.to(module.device)
        return min(self.num_samples, 64) if trainer.fast_dev_run else self.num_samples
