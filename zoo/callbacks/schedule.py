"""When a callback's measurement runs: at `lightning test`, and in fit after every N-th validation epoch."""

import lightning as L


class TestAndEveryNEpochs(L.Callback):
    """Calls `evaluate(trainer, module, stage)` with stage "test" at the end of `lightning test`, and with "val"
    after every `every_n_epochs`-th validation epoch of a fit (never: 0; never during the sanity check)."""

    every_n_epochs: int = 0

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if (self.every_n_epochs and not trainer.sanity_checking and trainer.state.fn == "fit"
                and (trainer.current_epoch + 1) % self.every_n_epochs == 0):
            self.evaluate(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.evaluate(trainer, pl_module, "test")

    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> dict[str, float]:
        raise NotImplementedError
