"""How often a class-conditional generator draws the class it is asked for, as the shipped digit classifier reads
its samples, at `lightning test` (and every N validation epochs, if asked).

Protocol: `num_samples` samples drawn with a fixed seed, the asked classes cycled (0, 1, ..., K-1, 0, ...), each
sample classified by the project's MNIST digit classifier (`digit_classifier.mnist`, 99.15 % test accuracy);
logged as `<stage>/class_accuracy` (the share whose predicted digit is the asked one) and
`<stage>/class_accuracy_min` (the worst class's share). For MNIST-family data (1 channel, 10 classes).
"""

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

from zoo.callbacks.classified_samples import ClassifiedSamples
from zoo.errors import InputError


class AskedClassAccuracy(ClassifiedSamples):
    """The share of a class-conditional generator's samples that the digit classifier reads as the asked class
    (the arguments: ClassifiedSamples')."""

    def __init__(self, num_samples: int = 10_000, every_n_epochs: int = 0, batch_size: int = 500,
                 weights_path: str | None = None, seed: int = 0):
        super().__init__(num_samples, every_n_epochs, batch_size, weights_path, seed)

    @torch.no_grad()
    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> dict[str, float]:
        num_classes = module.hparams.get("num_classes", 0)
        if not num_classes:
            raise InputError("AskedClassAccuracy measures class-conditional models (num_classes > 0): remove the "
                             "callback for this recipe")
        num_samples = self.prepare(trainer, module)
        asked, read = self.classify_samples(module, num_samples, num_classes)
        correct = (asked == read).double()
        asked_count = torch.bincount(asked, minlength=num_classes)
        per_class = torch.bincount(asked, weights=correct, minlength=num_classes)[asked_count > 0] / \
            asked_count[asked_count > 0]
        results = {f"{stage}/class_accuracy": float(correct.mean()),
                   f"{stage}/class_accuracy_min": float(per_class.min())}
        module.log_dict(results, rank_zero_only=True)
        self.protocol = {"num_samples": num_samples, "seed": self.seed, "labels": "cycled 0, 1, ..., K-1",
                         "classifier": self.classifier.protocol["extractor"],
                         "weights_sha256": self.classifier.protocol["weights_sha256"],
                         "class_accuracy": "share of samples the classifier reads as the asked class",
                         "sampler": "EMA generator" if getattr(module, "generator_ema", None) is not None
                         else "generator"}
        rank_zero_info(", ".join(f"{name} = {value:.4g}" for name, value in results.items()))
        return results

    def classify_samples(self, module: L.LightningModule, num_samples: int, num_classes: int):
        """The asked classes (N,) and the classifier's reading (N,) of `num_samples` samples drawn with the
        callback's seed (training's random state untouched)."""
        was_training = module.training
        module.eval()
        asked, read = [], []
        with torch.random.fork_rng(devices=[module.device] if module.device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            for start in range(0, num_samples, self.batch_size):
                labels = torch.arange(start, min(start + self.batch_size, num_samples), device=module.device) \
                    % num_classes
                samples = module.sample(len(labels), labels=labels).float().clamp(0, 1)
                asked.append(labels)
                read.append(self.classifier(samples)[1].argmax(1))
        module.train(was_training)
        return torch.cat(asked), torch.cat(read)
