"""Mode coverage of a GAN on Stacked MNIST at `lightning test` (and every N validation epochs, if asked).

Protocol (VEEGAN / PacGAN, Lin et al. 2018, Table 2): `num_samples` (26,000) samples drawn with a fixed seed,
each channel classified by the project's digit classifier; logged as `<stage>/modes` (modes with at least one
sample, of 1000) and `<stage>/kl` (KL(p_gen || uniform), nats). The same samples are read by a second classifier
of another design, seed and augmentation (`LeNetClassifier`, when its weights are there): `<stage>/modes_check`
and `<stage>/kl_check`, with `<stage>/low_confidence` (the share of channels the first classifier gives under 0.9)
and `<stage>/agreement` (the share on which the two name the same digit). For a model with an EMA generator these
come from the EMA generator, and the same names with `_live` from the trained generator.
"""

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

from zoo.callbacks.classified_samples import ClassifiedSamples
from zoo.metrics.extractors import CHECK_CLASSIFIER_WEIGHTS, check_classifier
from zoo.metrics.stacked_modes import NUM_MODES, channel_probabilities, classifier_checks, kl_floor, mode_statistics


class StackedMNISTModes(ClassifiedSamples):
    """Mode coverage and KL to uniform of a GAN's samples on Stacked MNIST (see the module docstring); the other
    arguments are ClassifiedSamples'.

    Args:
        check_weights_path: the second classifier's (LeNetClassifier) weights file; None, the shipped
            `checkpoints/digit_classifier_lenet.mnist`, the check skipped when that file is absent.
    """

    def __init__(self, num_samples: int = 26_000, every_n_epochs: int = 0, batch_size: int = 500,
                 weights_path: str | None = None, seed: int = 0, check_weights_path: str | None = None):
        super().__init__(num_samples, every_n_epochs, batch_size, weights_path, seed)
        self.check_weights_path = check_weights_path
        self.check = None  # the second classifier, loaded with the first when its weights exist

    def prepare(self, trainer: L.Trainer, module: L.LightningModule) -> int:
        """The first classifier as ClassifiedSamples loads it, and the second one when its weights exist."""
        num_samples = super().prepare(trainer, module)
        if self.check is None and (self.check_weights_path or CHECK_CLASSIFIER_WEIGHTS.is_file()):
            self.check = check_classifier(self.check_weights_path)
        if self.check is not None:
            self.check.to(module.device)
        return num_samples

    @torch.no_grad()
    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> dict[str, float]:
        num_samples = self.prepare(trainer, module)
        has_ema = getattr(module, "generator_ema", None) is not None
        results = {}
        for suffix, options in [("", {"ema": True}), ("_live", {"ema": False})] if has_ema else [("", {})]:
            probabilities, check_digits = self.classify_samples(module, num_samples, options)
            digits = probabilities.argmax(dim=2)
            found = mode_statistics(digits)
            if check_digits is not None:
                found.update({f"{name}_check": value for name, value in mode_statistics(check_digits).items()},
                             **classifier_checks(probabilities, check_digits))
            results.update({f"{stage}/{name}{suffix}": value for name, value in found.items()})
        module.log_dict(results, rank_zero_only=True)
        self.protocol = {
            "num_samples": num_samples, "seed": self.seed, "data": type(trainer.datamodule).__name__,
            "mode": "100 d0 + 10 d1 + d2, d_c the digit classifier's argmax on channel c",
            "classifier": self.classifier.protocol["extractor"],
            "weights_sha256": self.classifier.protocol["weights_sha256"],
            "modes": f"modes with at least one sample, of {NUM_MODES}",
            "kl": "KL(p_gen || uniform), nats, p_gen the samples' mode histogram",
            "kl_floor": round(kl_floor(num_samples), 4),  # expected KL of a perfectly uniform generator
            "sampler": "EMA generator; *_live: the trained generator" if has_ema else "generator",
            **({"check_classifier": self.check.protocol, "low_confidence": "share of channels whose top "
                "probability (first classifier) is below 0.9", "agreement": "share of channels both classifiers "
                "read as the same digit"} if self.check is not None else {})}
        rank_zero_info(", ".join(f"{name} = {value:.4g}" for name, value in results.items()))
        return results

    def classify_samples(self, module: L.LightningModule, num_samples: int, options: dict) \
            -> tuple[torch.Tensor, torch.Tensor | None]:
        """The first classifier's digit probabilities (N, 3, 10) and the second's digits (N, 3) (None without it)
        of `num_samples` samples drawn with the callback's seed (training's RNG untouched)."""
        was_training = module.training
        module.eval()
        probabilities, check_digits = [], []
        with torch.random.fork_rng(devices=[module.device] if module.device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            for start in range(0, num_samples, self.batch_size):
                n = min(self.batch_size, num_samples - start)
                samples = module.sample(n, **options).float().clamp(0, 1)
                probabilities.append(channel_probabilities(samples, self.classifier))
                if self.check is not None:
                    check_digits.append(channel_probabilities(samples, self.check).argmax(dim=2))
        module.train(was_training)
        return torch.cat(probabilities), torch.cat(check_digits) if check_digits else None
