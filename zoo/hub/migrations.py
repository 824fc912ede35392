"""Versioned migration of stored module configs.

A weights folder's `config.yaml` (`format_version:` beside `class_path`) and a Lightning checkpoint
(`zoo_format_version`) record the zoo's format version when they are written; files written before versioning
are version 0. `MIGRATIONS[v]` turns the init arguments of a version-v file into version v + 1's, and loading
runs every step from the file's version to `FORMAT_VERSION`, so an entry trained long ago is built by today's
classes with the options it was trained with, never with a default that changed since.

    migrate("zoo.VAEModule", init_args, version=0)  # -> today's init_args

A change that renames, removes or re-defaults an init argument bumps FORMAT_VERSION and appends its step here;
tests/test_migrations.py loads every shipped entry through the chain.
"""

from collections.abc import Callable

from zoo.errors import WeightsError

# The options each kind gained after its first release, with the value that every file written before them was
# trained with: version 0 files may lack them (shipped ones do: acgan.mnist has no r2_gamma, beta_vae.mnist no
# prior), and until version 1 the code fell back on today's defaults or on hparams.get(name, value).
ADDED_BEFORE_VERSION_1 = {
    "VAEModule": {"prior": "gaussian", "num_pseudo_inputs": 500, "top_latent_dim": 0, "top_hidden": [100, 100],
                  "top_activation": "Tanh", "hierarchy": "bottom_up", "mmd_weight": 0.0, "mmd_kernel": "imq",
                  "deterministic_encoder": False, "tc_weights": None, "dataset_size": 0, "compile": False,
                  "compile_test": False, "ex_post_samplers": None, "sampler": "prior"},
    "GANModule": {"r2_gamma": 0.0, "info_weight": 0.0, "info_continuous_weight": 0.0, "latent_continuous": 0,
                  "info_learn_variance": False, "auxiliary_classifier": 0.0, "diffaugment": ""},
}


def to_version_1(kind: str, init_args: dict) -> dict:
    """Version 0 -> 1: the options a file of version 0 may lack get the values it was trained with."""
    return {**ADDED_BEFORE_VERSION_1.get(kind, {}), **init_args}


def to_version_2(kind: str, init_args: dict) -> dict:
    """Version 1 -> 2: GANModule's game and auxiliary head became components. The loss and its penalties, six flat
    options, are one `objective` (zoo.modules.gan_losses.GANObjective's fields); InfoGAN's code and weights, and
    ACGAN's weight, are one `head` config (zoo.modules.auxiliary)."""
    if kind != "GANModule":
        return init_args
    objective = {"loss": init_args.pop("objective"), **{name: init_args.pop(name) for name in
                 ("n_critic", "gradient_penalty", "r1_gamma", "r2_gamma", "r1_every")}}
    categories, continuous = init_args.pop("latent_categories"), init_args.pop("latent_continuous")
    weight, continuous_weight = init_args.pop("info_weight"), init_args.pop("info_continuous_weight")
    learn_variance, acgan_weight = init_args.pop("info_learn_variance"), init_args.pop("auxiliary_classifier")
    head = None
    if weight > 0 or continuous_weight > 0:
        head = {"class_path": "zoo.modules.auxiliary.InfoGANHead",
                "init_args": {"categories": categories, "continuous": continuous, "weight": weight,
                              "continuous_weight": continuous_weight, "learn_variance": learn_variance}}
    elif acgan_weight > 0:
        head = {"class_path": "zoo.modules.auxiliary.ACGANHead", "init_args": {"weight": acgan_weight}}
    elif categories:
        raise WeightsError(f"a GAN with a categorical latent code ({categories} categories) and no InfoGAN head was "
                           f"dropped in format version 2: load it with the zoo release that wrote it")
    return {**init_args, "objective": objective, "head": head}


MIGRATIONS: tuple[Callable[[str, dict], dict], ...] = (to_version_1, to_version_2)
FORMAT_VERSION = len(MIGRATIONS)


def migrate(class_path: str, init_args: dict, version: int, source: str = "the file") -> dict:
    """`init_args` of a module config written at format `version`, as today's version reads them."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise WeightsError(f"{source}: format_version must be a whole number >= 0, got {version!r}")
    if version > FORMAT_VERSION:
        raise WeightsError(f"{source} was written by a newer zoo (format version {version}; this zoo reads up to "
                           f"{FORMAT_VERSION}): upgrade the zoo package to load it")
    kind = str(class_path).rpartition(".")[2]
    for step in MIGRATIONS[version:]:
        init_args = step(kind, dict(init_args))
    return init_args
