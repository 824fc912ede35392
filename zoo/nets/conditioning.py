"""Class conditioning shared by all networks: a one-hot label concatenated to the features."""

import torch
import torch.nn.functional as F

from zoo.errors import InputError


def append_one_hot(h: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """Concatenate one-hot `labels` to `h` along dim 1: (B, F) -> (B, F+K), (B, C, H, W) -> (B, C+K, H, W)."""
    if num_classes == 0:
        return h
    if labels is None:
        raise InputError(f"this network is class-conditional (num_classes={num_classes}): pass labels")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise InputError(f"labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}]")
    one_hot = F.one_hot(labels.long(), num_classes).to(h.dtype)  # (B, K)
    if h.dim() == 4:
        one_hot = one_hot[:, :, None, None].expand(-1, -1, *h.shape[2:])  # (B, K, H, W)
    return torch.cat([h, one_hot], dim=1)
