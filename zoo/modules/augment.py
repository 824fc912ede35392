"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image the discriminator sees in
training, real and generated, in both players' steps, so the discriminator cannot memorise a small training set
and the generator still gets gradients through the augmentation. The operations and their ranges follow the
authors' DiffAugment_pytorch.py:

- translation: each image moves by a whole number of pixels in [-H/8, H/8] x [-W/8, W/8], the uncovered border
  filled with the middle grey (the authors' 0 in their [-1, 1] images);
- cutout: a square of half the image's side, centred uniformly at random, is set to the middle grey;
- color: brightness + U(-0.5, 0.5) on the [-1, 1] scale, saturation * U(0, 2), contrast * U(0.5, 1.5), each per
  image (for RGB).

`policy` names them, comma-separated, e.g. "translation,cutout" (the paper's choice for small data sets). An
operation may carry a probability, "translation@0.5": each image is then augmented by it with that probability
and left as it is otherwise, drawn independently per image (ADA's per-operation probability, Karras et al. 2020);
without one it is applied to every image, as in DiffAugment.

ADA's adaptive strength (Karras et al. 2020, StyleGAN2-ADA's `ada_target`, `ada_kimg`): every operation's
probability is multiplied by a strength p that starts at 0 and, after each discriminator step, moves by
sign(r - target) * batch / images, where r = E[sign(D's logit)] on that step's real images (D's overconfidence on
its training images) and `images` is how many images it takes p to go from 0 to 1 (`adapted_strength`).
"""

import torch
import torch.nn.functional as F

from zoo.errors import InputError

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> list[tuple[str, float]]:
    """[(operation, probability)] of a policy such as "translation@0.5,cutout" (no probability: 1)."""
    operations = []
    for item in filter(None, policy.split(",")):
        name, _, probability = item.partition("@")
        if name not in POLICIES:
            raise InputError(f"unknown DiffAugment operation {name!r}; choose from {POLICIES}, comma-separated, each "
                             f"with an optional probability (e.g. translation@0.5,cutout)")
        try:
            p = float(probability) if probability else 1.0
        except ValueError:
            p = -1.0
        if not 0 < p <= 1:
            raise InputError(f"DiffAugment {item!r}: the probability after @ must be a number in (0, 1]")
        operations.append((name, p))
    return operations


def diff_augment(x: torch.Tensor, policy: str, strength: float = 1.0) -> torch.Tensor:
    """x (B, C, H, W), images in [0, 1], with the policy's random augmentations, drawn independently per image, each
    operation's probability multiplied by `strength` (ADA's p). The operations act on 2x - 1, the authors' images in
    [-1, 1], so that their zero fills are the middle grey and brightness moves by their share of the range."""
    operations = [(name, probability * strength) for name, probability in parse_policy(policy)
                  if probability * strength > 0]
    if not operations:
        return x  # exactly the images, not their round trip through [-1, 1]
    x = 2 * x - 1
    for name, probability in operations:
        augmented = AUGMENTATIONS[name](x)
        if probability < 1:
            chosen = torch.rand(len(x), 1, 1, 1, device=x.device) < probability
            augmented = torch.where(chosen, augmented, x)
        x = augmented
    return (x + 1) / 2


def adapted_strength(strength: float, real_logits: torch.Tensor, target: float, images: int) -> float:
    """ADA's strength after one discriminator step on real_logits (B,): up by B / images when D's mean sign on its
    real images exceeds the target (it overfits), down by as much otherwise, clipped to [0, 1]."""
    direction = torch.sign(torch.sign(real_logits).mean() - target).item()
    return min(max(strength + direction * len(real_logits) / images, 0.0), 1.0)


def translate(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Each image x[i] moved down by shifts[i, 0] and right by shifts[i, 1] pixels, zeros where nothing moved in."""
    b, c, h, w = x.shape
    pad = int(shifts.abs().max()) if len(shifts) else 0
    padded = F.pad(x, [pad, pad, pad, pad])  # out[i, :, r, s] = padded[i, :, r + pad - dy_i, s + pad - dx_i]
    rows = (torch.arange(h, device=x.device) + pad - shifts[:, :1]).view(b, 1, h, 1).expand(b, c, h, w + 2 * pad)
    cols = (torch.arange(w, device=x.device) + pad - shifts[:, 1:]).view(b, 1, 1, w).expand(b, c, h, w)
    return padded.gather(2, rows).gather(3, cols)


def random_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    limits = int(x.shape[2] * ratio + 0.5), int(x.shape[3] * ratio + 0.5)
    shifts = torch.stack([torch.randint(-m, m + 1, (len(x),), device=x.device) for m in limits], 1)
    return translate(x, -shifts)  # the authors' draw t moves an image by -t


def cut_out(x: torch.Tensor, centres: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """x with the size[0] x size[1] square around centres[i] (row, column) of each image set to zero (clipped at
    the border)."""
    rows = torch.arange(x.shape[2], device=x.device).view(1, -1, 1)
    cols = torch.arange(x.shape[3], device=x.device).view(1, 1, -1)
    top, left = (centres[:, 0] - size[0] // 2).view(-1, 1, 1), (centres[:, 1] - size[1] // 2).view(-1, 1, 1)
    inside = (rows >= top) & (rows < top + size[0]) & (cols >= left) & (cols < left + size[1])  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def random_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    size = int(x.shape[2] * ratio + 0.5), int(x.shape[3] * ratio + 0.5)
    centres = torch.stack([torch.randint(0, x.shape[2] + (1 - size[0] % 2), (len(x),), device=x.device),
                           torch.randint(0, x.shape[3] + (1 - size[1] % 2), (len(x),), device=x.device)], 1)
    return cut_out(x, centres, size)


def random_color(x: torch.Tensor) -> torch.Tensor:
    def per_image(low: float, high: float) -> torch.Tensor:
        return torch.rand(len(x), 1, 1, 1, dtype=x.dtype, device=x.device) * (high - low) + low

    x = x + per_image(-0.5, 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * per_image(0.0, 2.0) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * per_image(0.5, 1.5) + mean  # contrast


AUGMENTATIONS = {"color": random_color, "translation": random_translation, "cutout": random_cutout}
