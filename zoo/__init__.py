"""zoo: a PyTorch Lightning model zoo of variational auto-encoders and generative adversarial networks.

The names below are imported on first use (PEP 562), so `zoo --help` and `zoo list` start without torch.
"""

import importlib

from zoo.kinds import KINDS

COMPONENTS = {"GANObjective": "zoo.modules.gan_losses", "InfoGANHead": "zoo.modules.auxiliary",
              "ACGANHead": "zoo.modules.auxiliary", "VAEPrior": "zoo.modules.vae_prior",
              "VAEObjective": "zoo.modules.vae_objective", "NLLEstimate": "zoo.metrics.likelihood"}
LAZY = {**{kind.name: kind.module for kind in KINDS}, **COMPONENTS,
        "list_models": "zoo.hub.registry", "load_pretrained": "zoo.hub.registry"}
__all__ = list(LAZY)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name not in LAZY:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *LAZY])
