"""A callback for a `lightning fit` run in a fresh process: writes to `out` the share of a denormal tensor that one
parallel multiply (every intra-op thread takes a slice) returns as zero, with 2 threads: 1.0 when every thread
flushes denormals, 0.5 when only the main thread does."""

from pathlib import Path

import lightning as L
import torch


class DenormalProbe(L.Callback):
    def __init__(self, out: str):
        self.out = out

    def on_train_start(self, trainer, pl_module):
        threads = torch.get_num_threads()
        torch.set_num_threads(2)
        smallest = torch.tensor([1], dtype=torch.int32).view(torch.float32)  # 1.4e-45, made without arithmetic
        product = smallest.expand(1 << 22).contiguous() * 1.0
        torch.set_num_threads(threads)
        Path(self.out).write_text(str((product == 0).float().mean().item()))
