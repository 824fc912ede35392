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


# Version 1's flat options that version 2 groups into components, with version 1's defaults (what a version-1 module
# was built with when a file lacked one): component field <- version-1 option.
GROUPED_IN_VERSION_2 = {
    "GANModule": {
        "objective": {"loss": ("objective", "non_saturating"), "n_critic": ("n_critic", 1),
                      "gradient_penalty": ("gradient_penalty", 0.0), "r1_gamma": ("r1_gamma", 0.0),
                      "r2_gamma": ("r2_gamma", 0.0), "r1_every": ("r1_every", 1)},
    },
    "VAEModule": {
        "prior": {"kind": ("prior", "gaussian"), "scale": ("prior_scale", 1.0),
                  "num_pseudo_inputs": ("num_pseudo_inputs", 500), "top_latent_dim": ("top_latent_dim", 0),
                  "top_hidden": ("top_hidden", [100, 100]), "top_activation": ("top_activation", "Tanh"),
                  "hierarchy": ("hierarchy", "bottom_up")},
        "objective": {"bound": ("objective", "elbo"), "num_samples": ("num_samples", 1), "beta": ("beta", 1.0),
                      "kl_warmup_steps": ("kl_warmup_steps", 0), "free_bits": ("free_bits", 0.0),
                      "mmd_weight": ("mmd_weight", 0.0), "mmd_kernel": ("mmd_kernel", "imq"),
                      "deterministic_encoder": ("deterministic_encoder", False), "tc_weights": ("tc_weights", None),
                      "dataset_size": ("dataset_size", 0)},
        "test_nll": {"num_samples": ("test_num_samples", 5000), "compile": ("compile_test", False)},
    },
}


GAN_HEAD_OPTIONS = {"latent_categories": "head: InfoGANHead's categories", "latent_continuous": "head: InfoGANHead's "
                    "continuous", "info_weight": "head: InfoGANHead's weight", "info_continuous_weight": "head: "
                    "InfoGANHead's continuous_weight", "info_learn_variance": "head: InfoGANHead's learn_variance",
                    "auxiliary_classifier": "head: ACGANHead's weight"}


def moved_in_version_2(kind: str, option: str) -> str | None:
    """Where a version-1 option of a module kind lives since version 2 ("objective.beta"), for a user who names it."""
    for group, fields in GROUPED_IN_VERSION_2.get(kind, {}).items():
        for field, (old, _) in fields.items():
            if old == option and old != group:
                return f"{group}.{field}"
    return GAN_HEAD_OPTIONS.get(option) if kind == "GANModule" else None


def to_version_2(kind: str, init_args: dict) -> dict:
    """Version 1 -> 2: the modules' option groups became components. GANModule's loss and penalties are one
    `objective` (zoo.modules.gan_losses.GANObjective's fields) and InfoGAN's or ACGAN's options one `head` config
    (zoo.modules.auxiliary); VAEModule's prior options are one `prior` (zoo.modules.vae_prior.VAEPrior), its
    objective and regularisers one `objective` (zoo.modules.vae_objective.VAEObjective), its IS-NLL options one
    `test_nll` (zoo.metrics.likelihood.NLLEstimate)."""
    groups = {group: {field: init_args.pop(option, default) for field, (option, default) in fields.items()}
              for group, fields in GROUPED_IN_VERSION_2.get(kind, {}).items()}
    if kind == "GANModule":
        groups["head"] = gan_head_of(init_args)
    return {**init_args, **groups}


def gan_head_of(init_args: dict) -> dict | None:
    """A version-1 GAN's auxiliary head as a version-2 `head` config, its flat options popped from `init_args`."""
    categories, continuous = init_args.pop("latent_categories", 0), init_args.pop("latent_continuous", 0)
    weight, continuous_weight = init_args.pop("info_weight", 0.0), init_args.pop("info_continuous_weight", 0.0)
    learn_variance = init_args.pop("info_learn_variance", False)
    acgan_weight = init_args.pop("auxiliary_classifier", 0.0)
    if weight > 0 or continuous_weight > 0:
        return {"class_path": "zoo.modules.auxiliary.InfoGANHead",
                "init_args": {"categories": categories, "continuous": continuous, "weight": weight,
                              "continuous_weight": continuous_weight, "learn_variance": learn_variance}}
    if acgan_weight > 0:
        return {"class_path": "zoo.modules.auxiliary.ACGANHead", "init_args": {"weight": acgan_weight}}
    if categories:
        raise WeightsError(f"a GAN with a categorical latent code ({categories} categories) and no InfoGAN head was "
                           f"dropped in format version 2: load it with the zoo release that wrote it")
    return None


# The options each kind gained in version 3, with the value every earlier file was trained with.
ADDED_IN_VERSION_3 = {"GANModule": {"augment_target": None, "augment_images": 500_000}}  # ADA's adaptive strength


def to_version_3(kind: str, init_args: dict) -> dict:
    """Version 2 -> 3: GANModule's augment_target and augment_images (ADA's adaptive augmentation strength), off
    for every earlier file."""
    return {**ADDED_IN_VERSION_3.get(kind, {}), **init_args}


MIGRATIONS: tuple[Callable[[str, dict], dict], ...] = (to_version_1, to_version_2, to_version_3)
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
