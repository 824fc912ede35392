"""The pictures on the model cards, drawn through the call a user makes: `load_pretrained(name).sample(n)`.

    zoo card vae_mlp.mnist                 # rewrites checkpoints/vae_mlp.mnist/samples.png
    zoo card vae_mlp.mnist --out grid.png

The seed is fixed, so the same weights give the same picture, byte for byte, on every run (on one machine and
thread count: float sums may round differently elsewhere). Images are an 8x8 grid of `sample(64)`; a 2-D toy
entry's picture is a scatter plot of `sample(2000)`. An InfoGAN entry also gets `codes.png` (row c: ten samples
drawn with categorical code c) and, per continuous code j, `continuous_<j>.png` (row c: code c, one noise per row,
code j swept from -1 to 1 along the row, the other continuous codes at 0). A VAE of one stochastic layer and at most
TRAVERSED_LATENTS latents also gets `traversal.png`: row j decodes z = 0 with latent j swept from -2.5 to 2.5
prior standard deviations, so a disentangled model shows one factor changing per row.
"""

import importlib
from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

from zoo import kinds
from zoo.errors import InputError
from zoo.hub import registry

SEED = 0
GRID_SAMPLES, TOY_POINTS = 64, 2000
TRAVERSED_LATENTS = 10


def card_samples(module, n: int, seed: int = SEED) -> torch.Tensor:
    """`module.sample(n)` drawn with `seed`, the caller's random state left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return module.sample(n).cpu()


def sample_grid(module, seed: int = SEED) -> torch.Tensor:
    """An 8x8 grid (C, H, W) of the module's samples in [0, 1], white between them."""
    return make_grid(card_samples(module, GRID_SAMPLES, seed), nrow=8, padding=2, pad_value=1.0)


def write_picture(name: str, out: str | Path | None = None, seed: int = SEED) -> Path:
    """Draw the entry's card picture from its published weights into `out` (default: its folder's samples.png)."""
    out = Path(out) if out is not None else registry.weights_folder(name) / "samples.png"
    draw_picture(registry.load_pretrained(name), out, name, seed)
    return out


def draw_picture(module, out: Path, title: str, seed: int = SEED) -> None:
    """A module's card picture: the grid of sample(64), or for 2-D points the scatter of sample(2000)."""
    if not hasattr(module, "sample"):
        raise InputError(f"{title} draws no samples (a {type(module).__name__}): it has no card picture")
    if len(module.hparams.get("image_shape", ())) == 3:
        save_image(sample_grid(module, seed), out)
        for name, grid in {**code_grids(module, seed), **latent_traversal(module)}.items():
            save_image(grid, Path(out).with_name(name))
    else:
        scatter(card_samples(module, TOY_POINTS, seed), out, title)


def code_grids(module, seed: int = SEED, steps: int = 10) -> dict[str, torch.Tensor]:
    """An InfoGAN's code pictures by file name (none for other modules), each a grid with one row per category."""
    categories, continuous = (getattr(module, key, 0) for key in ("latent_categories", "latent_continuous"))
    if not categories:
        return {}
    codes = torch.arange(categories).repeat_interleave(steps)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        grids = {"codes.png": module.sample(len(codes), code=codes)}
        z = module.draw_latents(categories).repeat_interleave(steps, 0)  # one noise per row
        for j in range(continuous):
            values = torch.zeros(len(codes), continuous)
            values[:, j] = torch.linspace(-1, 1, steps).repeat(categories)
            grids[f"continuous_{j + 1}.png"] = module.sample(len(codes), z=z, code=codes, continuous=values)
    return {name: make_grid(images.cpu(), nrow=steps, padding=2, pad_value=1.0) for name, images in grids.items()}


def latent_traversal(module, steps: int = 10, reach: float = 2.5) -> dict[str, torch.Tensor]:
    """A small VAE's traversal picture by file name (none for other modules): one row per latent, through sample()."""
    from zoo.modules.vae import VAEModule

    hp = module.hparams
    if not isinstance(module, VAEModule) or module.prior_options.top_latent_dim or hp.num_classes or \
            not 2 <= hp.latent_dim <= TRAVERSED_LATENTS:
        return {}
    latents = hp.latent_dim
    z = torch.zeros(latents * steps, latents)
    sweep = torch.linspace(-reach, reach, steps) * module.prior_options.scale
    for j in range(latents):
        z[j * steps: (j + 1) * steps, j] = sweep
    images = module.sample(len(z), z=z.to(module.device, module.dtype)).cpu()
    return {"traversal.png": make_grid(images, nrow=steps, padding=2, pad_value=1.0)}


def scatter(points: torch.Tensor, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(4, 4), dpi=100)
    axes.scatter(points[:, 0].float(), points[:, 1].float(), s=2, alpha=0.4)
    axes.set_aspect("equal")
    axes.set_title(f"{title}: sample({len(points)})", fontsize=8)
    figure.savefig(out, metadata={"Software": None})
    plt.close(figure)


def default_sampler(config: dict) -> str:
    """What `sample(n)` draws from, in words, for a weights folder's config (class_path and init_args): each module
    kind says it (`sampler_description`)."""
    kind = kinds.kind_of(config["class_path"])
    if kind is None:
        raise InputError(f"{config['class_path']} is not a zoo module kind ({', '.join(k.name for k in kinds.KINDS)})")
    module = getattr(importlib.import_module(kind.module), kind.name)
    return module.sampler_description(config.get("init_args", {}))
