"""Nothing lost when a run is stopped: on SIGTERM (a scheduler's pre-emption) or Ctrl-C, Lightning finishes the
current batch and raises; this writes `last.ckpt` there, so `--ckpt_path .../last.ckpt` resumes from that step."""

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException


class CheckpointOnInterrupt(L.Callback):
    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, (SIGTERMException, KeyboardInterrupt)) or not trainer.training:
            return
        checkpoint = next((c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)), None)
        folder = Path(checkpoint.dirpath) if checkpoint and checkpoint.dirpath else \
            Path(trainer.log_dir or trainer.default_root_dir) / "checkpoints"
        path = folder / "last.ckpt"
        trainer.save_checkpoint(path)
        rank_zero_info(f"{type(exception).__name__} at step {trainer.global_step}: saved {path}; resume with "
                       f"--ckpt_path {path}")
