"""torch.compile with a clean fallback: the training fast path of VAEModule (`compile: true`).

The compiled function is the whole loss computation of a training step (networks, likelihood, KL), so
its element-wise work is fused into a few loops and its backward is
generated ahead of time. Where no compiler works (no C++ toolchain, an unsupported platform or op) the
eager function runs instead, after one `CompileFallbackWarning` that says why.
"""

import warnings

import torch


class CompileFallbackWarning(RuntimeWarning):
    """torch.compile failed and the eager code ran instead."""


class CompiledOrEager:
    """Calls `torch.compile(fn)`; if compiling fails, warns once and calls `fn` from then on."""

    def __init__(self, fn, what: str):
        self.fn, self.what = fn, what
        # random ops from ATen, as in eager: the same noise for the same seed, so curves and resumed runs match
        self.compiled = torch.compile(fn, options={"fallback_random": True})

    @property
    def fell_back(self) -> bool:
        return self.compiled is None

    def __call__(self, *args, **kwargs):
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as error:  # torch._dynamo / inductor errors have no common public base class
                warnings.warn(CompileFallbackWarning(
                    f"torch.compile failed for {self.what} ({type(error).__name__}: {str(error)[:300]}); "
                    "running it eagerly"), stacklevel=2)
                self.compiled = None
        return self.fn(*args, **kwargs)
