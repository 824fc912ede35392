"""Training logs at the cost of a few tensor additions per step.

Lightning writes on-step values to the logger only every `log_every_n_steps`, but `self.log` costs about
as much as a small model's layer on every call. So values are logged on step only when the logger will
write them, and the epoch means (`train/<name>_epoch`) come from running sums, logged once per epoch.
"""

import lightning as L
import torch


class TrainLogs:
    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def update(self, module: L.LightningModule, logs: dict[str, torch.Tensor], batch_size: int) -> None:
        for name, value in logs.items():
            value = value.detach().float() * batch_size
            self.sums[name] = self.sums[name] + value if name in self.sums else value
            self.counts[name] = self.counts.get(name, 0) + batch_size
        connector = module.trainer._logger_connector
        if getattr(connector, "should_update_logs", True) or module.trainer.fast_dev_run:
            module.log_dict({f"train/{k}": v for k, v in logs.items()}, on_step=True, on_epoch=False,
                            batch_size=batch_size)

    def log_epoch(self, module: L.LightningModule) -> None:
        means = {f"train/{k}_epoch": self.sums[k] / self.counts[k] for k in self.sums}
        if means:
            module.log_dict(means, on_step=False, on_epoch=True, sync_dist=True)
        self.sums, self.counts = {}, {}
