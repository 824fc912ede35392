"""Sample grids, reconstructions and interpolations, saved as PNG and sent to image-capable loggers."""

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from torchvision.utils import make_grid, save_image


class ImageGrids(L.Callback):
    """At the end of each validation epoch (every `every_n_epochs`), write into `<run dir>/images/`:

    - `samples_epoch=NNN.png`: decoded from the module's fixed noise buffer (comparable across epochs);
    - `reconstructions_epoch=NNN.png`: rows of originals above their reconstructions (if the module can);
    - `interpolations_epoch=NNN.png`: latent interpolations between pairs of validation images.

    When training ends between two of those (`max_steps`, `max_time`, `limit_train_batches`), the same grids of the
    last weights go to `<name>_step=NNNNNN.png`. The same grids go to every logger with a `log_image` method (W&B)
    or a TensorBoard writer.

    Args:
        num_samples: the samples in the samples grid, decoded from the first of the module's 64 fixed latents.
        num_reconstructions: the validation images (the first of the first validation batch) reconstructed; their
            consecutive pairs are interpolated.
        interpolation_steps: the images in each interpolation row, both ends included.
        every_n_epochs: draw after the validation epochs whose index is a multiple of N (0, N, 2N, ...).
    """

    def __init__(self, num_samples: int = 64, num_reconstructions: int = 8, interpolation_steps: int = 10,
                 every_n_epochs: int = 1):
        super().__init__()
        self.num_samples, self.num_reconstructions = num_samples, num_reconstructions
        self.interpolation_steps, self.every_n_epochs = interpolation_steps, every_n_epochs
        self.batch = None
        self.drawn_at_step = None

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if batch_idx == 0:
            self.batch = (batch[0][: self.num_reconstructions], batch[1][: self.num_reconstructions])

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.current_epoch % self.every_n_epochs:
            return
        self.draw(trainer, pl_module, f"epoch={trainer.current_epoch:03d}")

    @rank_zero_only
    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step != self.drawn_at_step:
            self.draw(trainer, pl_module, f"step={trainer.global_step:06d}")

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, when: str) -> None:
        for name, images, nrow in self.grids(pl_module):
            grid = make_grid(images.float().clamp(0, 1).cpu(), nrow=nrow, padding=2, pad_value=1.0)
            publish_image(trainer, name, grid, f"{name}, epoch {trainer.current_epoch}, step {trainer.global_step}",
                          when)
        self.drawn_at_step = trainer.global_step

    @torch.no_grad()
    def grids(self, module):
        was_training = module.training
        module.eval()
        try:
            num_classes = module.hparams.get("num_classes", 0)
            noise = module.fixed_noise[: self.num_samples]
            labels = self.cycle_labels(len(noise), num_classes, noise.device)
            if getattr(module, "top_down", False):  # z2 ~ p(z2), then z1 ~ p(z1|z2): no fixed z, a fixed seed
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    samples = module.sample(len(noise), labels=labels)
            else:
                samples = module.sample(len(noise), labels=labels, z=noise)
            if samples.dim() != 4:  # not images (e.g. 2-D toy data): nothing to draw as a grid
                return
            yield "samples", samples, 8
            if self.batch is None or not hasattr(module, "reconstruct"):
                return
            x, y = self.batch
            y = y if num_classes else None
            yield "reconstructions", torch.cat([x, module.reconstruct(x, y)]), len(x)
            rows = [module.interpolate(x[i], x[i + 1], self.interpolation_steps,
                                       None if y is None else y[i: i + 1])
                    for i in range(0, len(x) - 1, 2)]
            if rows:  # a validation batch of one image has no pair to interpolate between
                yield "interpolations", torch.cat(rows), self.interpolation_steps
        finally:
            module.train(was_training)

    @staticmethod
    def cycle_labels(n: int, num_classes: int, device) -> torch.Tensor | None:
        return torch.arange(n, device=device) % num_classes if num_classes else None


def run_dir(trainer: L.Trainer) -> Path:
    """`trainer.log_dir` without its broadcast: a collective call, which would hang in rank-zero-only code."""
    if trainer.loggers:
        logger = trainer.loggers[0]
        folder = logger.log_dir if isinstance(logger, (TensorBoardLogger, CSVLogger)) else logger.save_dir
        if folder:
            return Path(folder)
    return Path(trainer.default_root_dir)


def publish_image(trainer: L.Trainer, name: str, image: torch.Tensor, caption: str, when: str | None = None) -> None:
    """Save `image` (C, H, W in [0, 1]) as `<run dir>/images/<name>_<when>.png` (default `epoch=NNN`) and send it
    to every logger that takes images: those with `log_image` (W&B) and TensorBoard."""
    folder = run_dir(trainer) / "images"
    folder.mkdir(parents=True, exist_ok=True)
    save_image(image, folder / f"{name}_{when or f'epoch={trainer.current_epoch:03d}'}.png")
    for logger in trainer.loggers:
        if hasattr(logger, "log_image"):
            logger.log_image(key=f"images/{name}", images=[image], step=trainer.global_step, caption=[caption])
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(f"images/{name}", image, global_step=trainer.global_step)
