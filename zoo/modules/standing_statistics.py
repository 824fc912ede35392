"""Batch-norm statistics for an averaged (EMA) network, computed for its own weights ("standing statistics",
Brock et al. 2019). The averaged weights produce other activations than the trained network whose running
statistics they would otherwise carry: DCGAN's EMA generator scored FID 319 with the averaged statistics of
the trained generator and 101 with its own (the trained generator alone: 94)."""

from typing import Callable

import torch
from torch import nn


@torch.no_grad()
def recompute_batch_norm(net: nn.Module, inputs: Callable[[], tuple], batches: int = 8) -> None:
    """Resets every batch norm of `net` and sets its running statistics to the mean over `batches` forward
    passes of `inputs()` in training mode. `net` is left in eval mode; nets without batch norm are untouched."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    net.train()
    for _ in range(batches):
        net(*inputs())
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    net.eval()
