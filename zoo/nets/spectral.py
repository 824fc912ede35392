"""Spectral normalisation (Miyato et al. 2018) of every linear and convolutional layer of a network."""

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def apply_spectral_norm(net: nn.Module) -> nn.Module:
    for name, child in net.named_children():
        if isinstance(child, nn.Linear | nn.Conv2d | nn.ConvTranspose2d | nn.Embedding):
            setattr(net, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return net
