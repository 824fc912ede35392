"""Mode statistics and a scatter plot of a GAN's samples on the 2-D toy mixtures, each validation epoch."""

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only

from zoo.metrics.toy import mode_statistics


class ToyModes(L.Callback):
    """Logs val/modes, val/high_quality and val/reverse_kl (PacGAN's protocol on `num_points` points)
    and saves `<run dir>/images/toy_epoch=NNN.png`: samples over the modes' 3-std circles."""

    def __init__(self, num_points: int = 2500, plot: bool = True):
        super().__init__()
        self.num_points, self.plot = num_points, plot

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        data = trainer.datamodule
        samples = pl_module.sample(self.num_points).cpu()
        stats = mode_statistics(samples, data.means, data.std)
        pl_module.log_dict({f"val/{k}": float(v) for k, v in stats.items()}, rank_zero_only=True)
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
        axes.set_title(f"epoch {trainer.current_epoch}: {stats['modes']} modes, "
                       f"{100 * stats['high_quality']:.1f}% HQ, rKL {stats['reverse_kl']:.3f}", fontsize=8)
        folder = Path(trainer.log_dir or trainer.default_root_dir) / "images"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"toy_epoch={trainer.current_epoch:03d}.png"
        figure.savefig(path, bbox_inches="tight")
        plt.close(figure)
        for logger in trainer.loggers:
            if hasattr(logger, "log_image"):
                logger.log_image(key="images/toy", images=[str(path)], step=trainer.global_step,
                                 caption=[axes.get_title()])
