"""Mode coverage of a GAN on Stacked MNIST at `lightning test` (and every N validation epochs, if asked).

Protocol (VEEGAN / PacGAN, Lin et al. 2018, Table 2): `num_samples` (26,000) samples drawn with a fixed seed,
each channel classified by the project's digit classifier; logged as `<stage>/modes` (modes with at least one
sample, of 1000) and `<stage>/kl` (KL(p_gen || uniform), nats). For a model with an EMA generator these come from
the EMA generator, and `<stage>/modes_live`, `<stage>/kl_live` from the trained generator.
"""

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

from zoo.callbacks.classified_samples import ClassifiedSamples
from zoo.metrics.stacked_modes import NUM_MODES, classify_channels, kl_floor, mode_statistics


class StackedMNISTModes(ClassifiedSamples):
    def __init__(self, num_samples: int = 26_000, every_n_epochs: int = 0, batch_size: int = 500,
                 weights_path: str | None = None, seed: int = 0):
        super().__init__(num_samples, every_n_epochs, batch_size, weights_path, seed)

    @torch.no_grad()
    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> dict[str, float]:
        num_samples = self.prepare(trainer, module)
        has_ema = getattr(module, "generator_ema", None) is not None
        results = {}
        for suffix, options in [("", {"ema": True}), ("_live", {"ema": False})] if has_ema else [("", {})]:
            digits = self.classify_samples(module, num_samples, options)
            results.update({f"{stage}/{name}{suffix}": value for name, value in mode_statistics(digits).items()})
        module.log_dict(results, rank_zero_only=True)
        self.protocol = {
            "num_samples": num_samples, "seed": self.seed, "data": type(trainer.datamodule).__name__,
            "mode": "100 d0 + 10 d1 + d2, d_c the digit classifier's argmax on channel c",
            "classifier": self.classifier.protocol["extractor"],
            "weights_sha256": self.classifier.protocol["weights_sha256"],
            "modes": f"modes with at least one sample, of {NUM_MODES}",
            "kl": "KL(p_gen || uniform), nats, p_gen the samples' mode histogram",
            "kl_floor": round(kl_floor(num_samples), 4),  # expected KL of a perfectly uniform generator
            "sampler": "EMA generator; *_live: the trained generator" if has_ema else "generator"}
        rank_zero_info(", ".join(f"{name} = {value:.4g}" for name, value in results.items()))
        return results

    def classify_samples(self, module: L.LightningModule, num_samples: int, options: dict) -> torch.Tensor:
        """The digits (N, 3) of `num_samples` samples drawn with the callback's seed (training's RNG untouched)."""
        was_training = module.training
        module.eval()
        digits = []
        with torch.random.fork_rng(devices=[module.device] if module.device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            for start in range(0, num_samples, self.batch_size):
                n = min(self.batch_size, num_samples - start)
                samples = module.sample(n, **options).float().clamp(0, 1)
                digits.append(classify_channels(samples, self.classifier))
        module.train(was_training)
        return torch.cat(digits)
