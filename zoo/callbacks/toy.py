"""Mode statistics and a scatter plot of a GAN's samples on the 2-D toy mixtures, each validation epoch and at test."""

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_only

from zoo.callbacks.images import publish_image
from zoo.metrics.toy import mode_statistics


class ToyModes(L.Callback):
    """Logs val/ (each validation epoch) and test/ modes, high_quality and reverse_kl (PacGAN's protocol on
    `num_points` points drawn with a fixed seed) and saves `<run dir>/images/toy_epoch=NNN.png`: samples
    over the modes' 3-std circles.

    Args:
        num_points: the points sampled per evaluation.
        plot: also save and log the scatter plot of the samples (`toy_epoch=NNN.png`).
        seed: the seed the points are drawn with: the same points every evaluation, training's random state untouched.
    """

    def __init__(self, num_points: int = 2500, plot: bool = True, seed: int = 0):
        super().__init__()
        self.num_points, self.plot, self.seed = num_points, plot, seed
        self.protocol: dict = {}

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.evaluate(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.evaluate(trainer, pl_module, "test")

    def evaluate(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        data = trainer.datamodule
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)  # the same points for every evaluation, training's RNG untouched
            samples = pl_module.sample(self.num_points).cpu()
        stats = mode_statistics(samples, data.means, data.std)
        pl_module.log_dict({f"{stage}/{k}": float(v) for k, v in stats.items()}, rank_zero_only=True)
        self.protocol = {"num_points": self.num_points, "high_quality": "within 3 std of the nearest mode",
                         "data": f"{data.kind}: {len(data.means)} modes, std {data.std}", "seed": self.seed,
                         "sampler": "EMA generator" if getattr(pl_module, "generator_ema", None) else "generator"}
        if self.plot:
            self.save_plot(trainer, samples, data, stats)

    @rank_zero_only
    def save_plot(self, trainer, samples: torch.Tensor, data, stats: dict) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(4, 4), dpi=100)
        axes.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, label="samples")
        for centre in data.means:
            axes.add_patch(plt.Circle(centre.tolist(), 3 * data.std, fill=False, color="red", lw=0.8))
        axes.set_aspect("equal")
        title = (f"epoch {trainer.current_epoch}: {stats['modes']} modes, "
                 f"{100 * stats['high_quality']:.1f}% HQ, rKL {stats['reverse_kl']:.3f}")
        axes.set_title(title, fontsize=8)
        figure.canvas.draw()
        pixels = torch.from_numpy(np.asarray(figure.canvas.buffer_rgba())[..., :3].copy())  # (H, W, 3) uint8
        plt.close(figure)
        publish_image(trainer, "toy", pixels.permute(2, 0, 1).float() / 255, title)
