"""zoo: a PyTorch Lightning model zoo of variational auto-encoders and generative adversarial networks."""

from zoo.modules.gan import GANModule
from zoo.modules.vae import VAEModule
from zoo.modules.vqvae import VQVAEModule
from zoo.registry import list_models, load_pretrained

__all__ = ["GANModule", "VAEModule", "VQVAEModule", "list_models", "load_pretrained"]
__version__ = "0.1.0"
