"""zoo: a PyTorch Lightning model zoo of variational auto-encoders and generative adversarial networks."""

from zoo.modules.gan import GANModule
from zoo.modules.vae import VAEModule

__all__ = ["GANModule", "VAEModule"]
__version__ = "0.1.0"
