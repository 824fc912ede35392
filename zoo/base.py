"""What every zoo module kind shares: one convention for the images it returns, drawn within a memory bound.

A kind's public image outputs (`sample`, `reconstruct`, `interpolate`, and whatever else it lists in
`IMAGE_OUTPUTS`) return float32 tensors of shape (n, C, H, W) with values in [0, 1], whatever the family's last
layer gives (Gaussian means, which are unbounded; sigmoid probabilities; a tanh in [-1, 1], mapped by
`image_range`). This is what `torchvision.utils.save_image` takes and what diffusers' pipelines return with
`output_type="pt"`. `raw=True` returns the network's output as it is (a Gaussian's unclamped mean, say), in the
module's dtype. `decode` is not an image output: it keeps returning the distribution p(x|z).

`sample(n)` and `reconstruct(x)` run in chunks of CHUNK images (tensor arguments with one row per image are split
alongside), so the networks' activations stay bounded whatever n is; a request whose output alone would not fit in
the memory the machine has free is refused up front, with the bytes it needs.

The wrapping happens once, here, when a kind subclasses ZooModule, so no family can forget it.
"""

import functools
import inspect
import io
import math
import os
from pathlib import Path

import lightning as L
import torch

from zoo.errors import InputError

CHUNK = 1024  # images per network call in sample() and reconstruct()
CHUNKED = ("sample", "reconstruct")  # their first argument is the count n, or the images x


def unit_images(out: torch.Tensor, image_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Images (n, C, H, W) in `image_range` -> float32 in [0, 1]; anything else (a toy's 2-D points) unchanged."""
    if out.dim() != 4:
        return out
    low, high = image_range
    return ((out.float() - low) / (high - low)).clamp(0.0, 1.0)


def free_memory_bytes() -> int | None:
    """Physical memory the machine has free (Linux), None where it cannot tell."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_output_fits(name: str, n: int, image_shape) -> None:
    needed, free = 4 * n * math.prod(image_shape), free_memory_bytes()
    if free is not None and needed > free:
        raise InputError(f"{name}({n}) would return {needed / 1e9:.1f} GB of float32 images, more than the "
                         f"{free / 1e9:.1f} GB free: ask for at most {free // (4 * math.prod(image_shape))} at once, "
                         f"or loop over smaller calls")


def image_output(method):
    """The method, returning `unit_images` of its output unless called with raw=True; `sample` and `reconstruct`
    in chunks of CHUNK rows."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, raw: bool = False, **kwargs):
        def call(*a, **k):
            out = method(self, *a, **k)
            return out if raw else unit_images(out, self.image_range)

        first = args[0] if args else None
        rows = first if isinstance(first, int) and not isinstance(first, bool) else \
            len(first) if isinstance(first, torch.Tensor) and first.dim() else None
        if method.__name__ not in CHUNKED or rows is None or rows <= CHUNK:
            return call(*args, **kwargs)
        image_shape = self.hparams.get("image_shape") or ()
        if method.__name__ == "sample" and len(image_shape) == 3:
            check_output_fits("sample", rows, image_shape)
        arguments = signature.bind(self, *args, **kwargs).arguments
        names = list(arguments)[1:]  # without self
        parts = []
        for start in range(0, rows, CHUNK):
            size = min(CHUNK, rows - start)
            chunk = {name: cut(arguments[name], start, size, rows) for name in names}
            if isinstance(first, int):
                chunk[names[0]] = size
            parts.append(call(**chunk))
        return torch.cat(parts)

    wrapper.image_output = True
    return wrapper


def cut(value, start: int, size: int, rows: int):
    """value[start:start + size] for a tensor with one row per image, anything else unchanged."""
    if isinstance(value, torch.Tensor) and value.dim() and len(value) == rows:
        return value[start: start + size]
    return value


class ZooModule(L.LightningModule):
    IMAGE_OUTPUTS = ("sample", "reconstruct", "interpolate")
    image_range = (0.0, 1.0)  # the range of the networks' images; a tanh generator would say (-1.0, 1.0)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.IMAGE_OUTPUTS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "image_output", False):
                setattr(cls, name, image_output(method))

    @classmethod
    def from_pretrained(cls, name_or_folder: str | os.PathLike, device=None, dtype=None) -> "ZooModule":
        """A zoo entry by name, as `zoo.load_pretrained` loads it, or a local weights folder (`save_pretrained`'s,
        `zoo export`'s), in eval mode on `device` in `dtype`; refused in one line when it holds another kind."""
        from zoo.hub import folders, registry

        if Path(name_or_folder).is_dir():  # a local folder first, as Hugging Face libraries resolve names
            module = registry.placed(folders.load_folder(name_or_folder), device, dtype)
        else:
            module = registry.load_pretrained(str(name_or_folder), device=device, dtype=dtype)
        if not isinstance(module, cls):
            raise InputError(f"{name_or_folder} holds a {type(module).__name__}, not a {cls.__name__}: load it with "
                             f"{type(module).__name__}.from_pretrained or zoo.load_pretrained")
        return module

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, *args, **kwargs):
        """Lightning's loader, after checking the file is readable and holds this kind, with its hyper-parameters
        migrated from the checkpoint's format version to today's (zoo.hub.migrations)."""
        from zoo.hub import folders

        checkpoint = folders.read_migrated_checkpoint(checkpoint_path, f"zoo.{cls.__name__}")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        buffer.seek(0)
        return super().load_from_checkpoint(buffer, *args, **kwargs)

    def before_export(self) -> None:
        """Called before a weights folder is written (`save_folder`): compute what the saved weights should carry
        instead of leaving it to every user's first call."""

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        from zoo.hub.migrations import FORMAT_VERSION

        checkpoint["zoo_format_version"] = FORMAT_VERSION

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write the weights (model.safetensors) and config.yaml into `folder`, which from_pretrained(folder) loads
        back; `zoo export` also writes the model card that a Hub push needs. Returns the weights file."""
        from zoo.hub import folders

        return folders.save_folder(self, folder)
