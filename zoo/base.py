"""What every zoo module kind shares: one convention for the images it returns.

A kind's public image outputs (`sample`, `reconstruct`, `interpolate`, and whatever else it lists in
`IMAGE_OUTPUTS`) return float32 tensors of shape (n, C, H, W) with values in [0, 1], whatever the family's last
layer gives (Gaussian means, which are unbounded; sigmoid probabilities; a tanh in [-1, 1], mapped by
`image_range`). This is what `torchvision.utils.save_image` takes and what diffusers' pipelines return with
`output_type="pt"`. `raw=True` returns the network's output as it is (a Gaussian's unclamped mean, say), in the
module's dtype. `decode` is not an image output: it keeps returning the distribution p(x|z).

The wrapping happens once, here, when a kind subclasses ZooModule, so no family can forget it.
"""

import functools

import lightning as L
import torch


def unit_images(out: torch.Tensor, image_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Images (n, C, H, W) in `image_range` -> float32 in [0, 1]; anything else (a toy's 2-D points) unchanged."""
    if out.dim() != 4:
        return out
    low, high = image_range
    return ((out.float() - low) / (high - low)).clamp(0.0, 1.0)


def image_output(method):
    """The method, returning `unit_images` of its output unless called with raw=True."""
    @functools.wraps(method)
    def wrapper(self, *args, raw: bool = False, **kwargs):
        out = method(self, *args, **kwargs)
        return out if raw else unit_images(out, self.image_range)

    wrapper.image_output = True
    return wrapper


class ZooModule(L.LightningModule):
    IMAGE_OUTPUTS = ("sample", "reconstruct", "interpolate")
    image_range = (0.0, 1.0)  # the range of the networks' images; a tanh generator would say (-1.0, 1.0)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.IMAGE_OUTPUTS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "image_output", False):
                setattr(cls, name, image_output(method))
