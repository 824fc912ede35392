"""Denormal floats flushed to zero on the CPU while a `lightning` command runs (`--flush_denormals`, on by default).

Once gradients and Adam's moments hold denormal numbers (magnitudes below 1.2e-38, computed in microcode), an fp32
step slows by half: the MLP VAE's plain loop took 13 ms a step over its first 600 steps and 19.5 ms by step 1,600,
and 13 ms throughout with denormals flushed (benchmarks/denormal_speed.py). Flushing changes only those numbers,
which no loss or metric here tells from zero. The mode belongs to each thread, and OpenMP's threads take it from the
thread that starts them, so it is set once the command line is read and before the model is built (which starts
torch's thread pool); set afterwards, only the main thread would flush. In a script of your own, call
`torch.set_flush_denormal(True)` before any other torch call.
"""

import torch


def flushing() -> bool:
    """Whether this thread flushes denormals: the smallest denormal (made without arithmetic) times one is zero."""
    smallest = torch.tensor([1], dtype=torch.int32).view(torch.float32)
    return bool((smallest * 1.0).item() == 0.0)
