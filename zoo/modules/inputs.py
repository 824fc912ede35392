"""Checks of what the modules' Python API is given: images, latent codes, labels, counts. Each failure says what
was expected (shape, latent size, dtype, label count). They run in the public methods (encode, decode, sample,
reconstruct, interpolate) and on a stage's first batch, never inside a training step."""

import torch

from zoo.errors import InputError


def shape_text(shape) -> str:
    return f"({', '.join(map(str, shape))})"


def check_count(n, name: str, where: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise InputError(f"{where}: {name} must be an int >= {minimum}, got {n!r}")
    return n


def check_images(x, image_shape: tuple, where: str, unit_interval: bool, batched: bool = True) -> torch.Tensor:
    """Images of shape (B, *image_shape) (or one image, `batched=False`), floating point, finite, and in [0, 1]
    when the likelihood is Bernoulli (`unit_interval`)."""
    expected = ("B", *image_shape) if batched else tuple(image_shape)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{where}: expected a tensor of images {shape_text(expected)}, got {type(x).__name__}")
    if tuple(x.shape[1:] if batched else x.shape) != tuple(image_shape) or x.dim() != len(expected):
        hint = "; add a batch dimension with x[None]" if batched and tuple(x.shape) == tuple(image_shape) else ""
        raise InputError(f"{where}: expected images of shape {shape_text(expected)}, got {tuple(x.shape)}{hint}")
    if not x.is_floating_point():
        hint = "; divide uint8 images by 255" if x.dtype == torch.uint8 else ""
        raise InputError(f"{where}: expected floating-point images in [0, 1], got dtype {x.dtype}{hint}")
    check_values(x, where, unit_interval)
    return x


def check_values(x: torch.Tensor, where: str, unit_interval: bool) -> None:
    """NaN/Inf anywhere, or (`unit_interval`) values outside [0, 1]: one host sync."""
    if x.numel() == 0:
        return
    low, high, finite = torch.stack([x.min(), x.max(), x.isfinite().all().to(x.dtype)]).tolist()
    if not finite:
        raise InputError(f"{where}: the images hold NaN or Inf values ({int((~x.isfinite()).sum())} of them)")
    if unit_interval and (low < 0 or high > 1):
        raise InputError(f"{where}: a Bernoulli likelihood models pixels in [0, 1], but these images lie in "
                         f"[{low:.4g}, {high:.4g}]: scale them to [0, 1] (undo any normalisation), or use a "
                         f"Gaussian likelihood")


def check_latents(z, latent_dim: int, where: str, rows: int | None = None) -> torch.Tensor:
    """Latent codes (..., latent_dim), floating point; exactly (rows, latent_dim) when `rows` is given."""
    expected = f"({rows}, {latent_dim})" if rows is not None else f"(..., {latent_dim})"
    if not isinstance(z, torch.Tensor):
        raise InputError(f"{where}: expected latent codes z {expected}, got {type(z).__name__}")
    if z.dim() == 0 or z.shape[-1] != latent_dim or (rows is not None and tuple(z.shape) != (rows, latent_dim)):
        hint = f"; pass n={len(z)} with {len(z)} rows of z" if rows is not None and z.dim() == 2 and \
            z.shape[-1] == latent_dim else ""
        raise InputError(f"{where}: expected latent codes z of shape {expected} (latent_dim={latent_dim}), got "
                         f"{tuple(z.shape)}{hint}")
    if not z.is_floating_point():
        raise InputError(f"{where}: expected floating-point latent codes z, got dtype {z.dtype}")
    return z


def check_labels(labels, num_classes: int, batch: tuple, where: str, device=None) -> torch.Tensor | None:
    """None for an unconditional model; otherwise integer labels in [0, num_classes) whose shape broadcasts to
    `batch` (an int stands for the same class everywhere)."""
    if num_classes == 0:
        if labels is not None:
            raise InputError(f"{where}: this model is unconditional (num_classes=0): it takes no labels")
        return None
    if labels is None:
        raise InputError(f"{where}: this model is class-conditional (num_classes={num_classes}): pass labels, "
                         f"integers in [0, {num_classes}) of shape {shape_text(batch)} (or one int for all)")
    if isinstance(labels, int) and not isinstance(labels, bool):
        labels = torch.tensor(labels)
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.is_complex() or \
            labels.dtype == torch.bool:
        got = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise InputError(f"{where}: labels must be an integer tensor of shape {shape_text(batch)} (or one int), "
                         f"got {got}")
    try:
        fits = torch.broadcast_shapes(labels.shape, batch) == torch.Size(batch)
    except RuntimeError:
        fits = False
    if not fits:
        raise InputError(f"{where}: expected labels of shape {shape_text(batch)} (one per image), got "
                         f"{tuple(labels.shape)}")
    if labels.numel():
        low, high = labels.aminmax()
        if low < 0 or high >= num_classes:
            raise InputError(f"{where}: labels must lie in [0, {num_classes}), got values in [{int(low)}, {int(high)}]")
    return labels.long().to(device)


def balanced_labels(n: int, num_classes: int, device=None) -> torch.Tensor:
    """n labels in random order, n // num_classes of each class and one more of n % num_classes distinct classes."""
    rest = torch.randperm(num_classes)[: n % num_classes]
    labels = torch.cat([torch.arange(num_classes).repeat(n // num_classes), rest])
    return labels[torch.randperm(n)].to(device)


def check_device(device) -> torch.device:
    """A torch.device, or a string such as "cpu" or "cuda:0", that this machine has."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InputError(f"device {device!r} is not a device: give a torch.device or a string such as 'cpu' or "
                         f"'cuda:0' ({str(error).splitlines()[0]})") from error
    backends = {"cuda": torch.cuda, "mps": getattr(torch.backends, "mps", None)}
    backend = backends.get(device.type)
    if backend is not None and not backend.is_available():
        raise InputError(f"device {str(device)!r} was asked for, but this torch build or machine has no "
                         f"{device.type.upper()} device: use device='cpu'")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InputError(f"device {str(device)!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def check_dtype(dtype) -> torch.dtype:
    """A floating torch.dtype, or its name ("float32", "bfloat16", "float16", "float64")."""
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype.removeprefix("torch."), dtype)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InputError(f"dtype must be a floating torch.dtype or its name (float32, bfloat16, float16, float64), "
                         f"got {dtype!r}")
    return dtype
