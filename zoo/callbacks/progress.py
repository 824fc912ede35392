"""The `lightning` command's progress bar: Lightning's rich bar, updated every `refresh_rate` training batches rather
than after each. Each update reads every progress-bar metric back into Python and redraws; after every batch that
cost 1.4 ms of an 8 ms MLP-VAE step at two threads (benchmarks/results/fit_overheads.json: a fit without the bar).
The CLI adds it unless the trainer has a progress bar of its own or `--trainer.enable_progress_bar false`.
"""

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar


class SparseProgressBar(RichProgressBar):
    """Lightning's RichProgressBar, its training bar and metrics updated every `refresh_rate` batches and at an
    epoch's last batch."""

    def __init__(self, refresh_rate: int = 10, **kwargs):
        super().__init__(refresh_rate=refresh_rate, **kwargs)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int):
        done = batch_idx + 1
        if done % self.refresh_rate == 0 or done == self.total_train_batches:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
