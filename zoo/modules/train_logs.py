"""Training logs at the cost of a few tensor additions per step.

Lightning writes on-step values to the logger only every `log_every_n_steps`, but `self.log` costs about
as much as a small model's layer on every call. So values are logged on step only when the logger will
write them, and the epoch means (`train/<name>_epoch`) come from running sums, logged once per epoch.
"""

import lightning as L
import torch


class TrainLogs:
    def __init__(self):
        self.sums: dict[tuple[str, ...], torch.Tensor] = {}  # one running sum per set of names logged together
        self.counts: dict[tuple[str, ...], int] = {}

    def update(self, module: L.LightningModule, logs: dict[str, torch.Tensor], batch_size: int) -> None:
        names = tuple(logs)
        values = torch.stack([value.detach().float() for value in logs.values()]) * batch_size
        self.sums[names] = self.sums[names] + values if names in self.sums else values
        self.counts[names] = self.counts.get(names, 0) + batch_size
        connector = module.trainer._logger_connector
        if getattr(connector, "should_update_logs", True) or module.trainer.fast_dev_run:
            module.log_dict({f"train/{k}": v for k, v in logs.items()}, on_step=True, on_epoch=False,
                            batch_size=batch_size)

    def log_epoch(self, module: L.LightningModule) -> None:
        totals: dict[str, torch.Tensor] = {}
        counts: dict[str, int] = {}
        for names, sums in self.sums.items():
            for name, value in zip(names, sums, strict=True):
                totals[name] = totals[name] + value if name in totals else value
                counts[name] = counts.get(name, 0) + self.counts[names]
        means = {f"train/{name}_epoch": totals[name] / counts[name] for name in totals}
        if means:
            module.log_dict(means, on_step=False, on_epoch=True, sync_dist=True)
        self.sums, self.counts = {}, {}
