"""Versioned migration (zoo.hub.migrations): files record the format version they were written at, loading runs
one migration step per version from theirs to today's, and a file never relies on a default that changed since."""

import inspect
import json
from dataclasses import asdict

import lightning
import pytest
import torch
import yaml

from tests.conftest import REPO
from zoo import GANModule, VAEModule, kinds
from zoo.distributions import BernoulliLikelihood
from zoo.errors import WeightsError
from zoo.factories import as_config
from zoo.hub import folders, migrations, registry
from zoo.modules.vae_objective import VAEObjective
from zoo.nets import MLPDecoder, MLPEncoder

MODULE_ENTRIES = [name for name in registry.list_models(pretrained=True) if registry.get(name).recipe]


def with_default(monkeypatch, cls, name: str, value) -> None:
    """cls.__init__ as if a later release had changed the default of `name` to `value`."""
    defaulted = [p.name for p in inspect.signature(cls.__init__).parameters.values()
                 if p.default is not inspect.Parameter.empty]
    defaults = list(cls.__init__.__defaults__)
    defaults[defaulted.index(name)] = value
    monkeypatch.setattr(cls.__init__, "__defaults__", tuple(defaults))


@pytest.mark.parametrize("name", MODULE_ENTRIES)
def test_every_shipped_entry_is_read_through_the_migration(name):
    folder = registry.weights_folder(name)
    raw = yaml.safe_load((folder / folders.CONFIG).read_text())
    config = folders.read_config(folder)
    assert config["format_version"] == migrations.FORMAT_VERSION
    assert config["init_args"] == migrations.migrate(raw["class_path"], raw["init_args"],
                                                     raw.get("format_version", 0))
    kind = folders.import_object(kinds.kind_of(raw["class_path"]).defined_at)
    options = set(inspect.signature(kind.__init__).parameters) - {"self"}
    unnamed = options - set(config["init_args"])
    assert not unnamed, f"{name} relies on today's defaults for {unnamed}"


def version_1_vae_options(**options) -> dict:
    """A VAEModule's init arguments as a version-1 zoo stored them: prior, objective and IS-NLL options flat."""
    return {"encoder": as_config(MLPEncoder), "decoder": as_config(MLPDecoder),
            "likelihood": as_config(BernoulliLikelihood), "image_shape": [1, 28, 28], "latent_dim": 4, "num_classes": 0,
            "prior_scale": 1.0, "prior": "gaussian", "num_pseudo_inputs": 500, "top_latent_dim": 0,
            "top_hidden": [100, 100], "top_activation": "Tanh", "hierarchy": "bottom_up", "beta": 1.0,
            "kl_warmup_steps": 0, "free_bits": 0.0, "mmd_weight": 0.0, "mmd_kernel": "imq",
            "deterministic_encoder": False, "tc_weights": None, "dataset_size": 0, "objective": "elbo",
            "num_samples": 1, "test_num_samples": 5000, "compile_test": False, "compile": False,
            "ex_post_samplers": None, "sampler": "prior", "optimizer": as_config(torch.optim.Adam),
            "lr_scheduler": None, **options}


def test_a_version_0_folder_keeps_the_options_it_was_trained_with(tmp_path, monkeypatch):
    VAEModule(latent_dim=4, objective=VAEObjective(beta=0.0, mmd_weight=10.0)).save_pretrained(tmp_path)
    config = yaml.safe_load((tmp_path / folders.CONFIG).read_text())
    assert config["format_version"] == migrations.FORMAT_VERSION
    old = version_1_vae_options(beta=0.0, mmd_weight=10.0)  # WAE-like, MMD with the IMQ kernel of its day
    del old["mmd_kernel"], old["sampler"]
    (tmp_path / folders.CONFIG).write_text(yaml.safe_dump({"class_path": config["class_path"], "init_args": old}))
    with_default(monkeypatch, VAEObjective, "mmd_kernel", "rbf")  # a later release changes the default
    loaded = folders.load_folder(tmp_path)
    assert loaded.objective.mmd_kernel == "imq" and loaded.hparams.sampler == "prior"
    assert loaded.objective.mmd_weight == 10.0 and loaded.objective.beta == 0.0
    assert VAEObjective().mmd_kernel == "rbf"  # what a file without the migration would get


@pytest.mark.parametrize("flat, prior, objective, test_nll", [
    ({}, {"kind": "gaussian", "scale": 1.0, "num_pseudo_inputs": 500, "top_latent_dim": 0, "top_hidden": [100, 100],
          "top_activation": "Tanh", "hierarchy": "bottom_up"},
     {"bound": "elbo", "num_samples": 1, "beta": 1.0, "kl_warmup_steps": 0, "free_bits": 0.0, "mmd_weight": 0.0,
      "mmd_kernel": "imq", "deterministic_encoder": False, "tc_weights": None, "dataset_size": 0},
     {"num_samples": 5000, "compile": False}),
    ({"prior": "vamp", "num_pseudo_inputs": 7, "top_latent_dim": 3, "top_hidden": [5], "top_activation": "Gated",
      "hierarchy": "top_down", "prior_scale": 0.5, "kl_warmup_steps": 9, "test_num_samples": 20, "compile_test": True},
     {"kind": "vamp", "scale": 0.5, "num_pseudo_inputs": 7, "top_latent_dim": 3, "top_hidden": [5],
      "top_activation": "Gated", "hierarchy": "top_down"},
     {"bound": "elbo", "num_samples": 1, "beta": 1.0, "kl_warmup_steps": 9, "free_bits": 0.0, "mmd_weight": 0.0,
      "mmd_kernel": "imq", "deterministic_encoder": False, "tc_weights": None, "dataset_size": 0},
     {"num_samples": 20, "compile": True}),
    ({"objective": "iwae", "num_samples": 5, "tc_weights": None},
     {"kind": "gaussian", "scale": 1.0, "num_pseudo_inputs": 500, "top_latent_dim": 0, "top_hidden": [100, 100],
      "top_activation": "Tanh", "hierarchy": "bottom_up"},
     {"bound": "iwae", "num_samples": 5, "beta": 1.0, "kl_warmup_steps": 0, "free_bits": 0.0, "mmd_weight": 0.0,
      "mmd_kernel": "imq", "deterministic_encoder": False, "tc_weights": None, "dataset_size": 0},
     {"num_samples": 5000, "compile": False}),
    ({"tc_weights": [1.0, 6.0, 1.0], "dataset_size": 737280, "free_bits": 0.0},
     {"kind": "gaussian", "scale": 1.0, "num_pseudo_inputs": 500, "top_latent_dim": 0, "top_hidden": [100, 100],
      "top_activation": "Tanh", "hierarchy": "bottom_up"},
     {"bound": "elbo", "num_samples": 1, "beta": 1.0, "kl_warmup_steps": 0, "free_bits": 0.0, "mmd_weight": 0.0,
      "mmd_kernel": "imq", "deterministic_encoder": False, "tc_weights": [1.0, 6.0, 1.0], "dataset_size": 737280},
     {"num_samples": 5000, "compile": False}),
])
def test_version_1_vae_options_become_its_prior_objective_and_nll_estimate(flat, prior, objective, test_nll):
    migrated = migrations.migrate("zoo.VAEModule", version_1_vae_options(**flat), 1)
    assert (migrated["prior"], migrated["objective"], migrated["test_nll"]) == (prior, objective, test_nll)
    vae = VAEModule(**migrated)
    added_since = {**asdict(VAEObjective()), **objective}  # options added after version 2 take their defaults
    assert (dict(vae.hparams.prior), dict(vae.hparams.objective), dict(vae.hparams.test_nll)) == \
        (prior, added_since, test_nll)
    assert not {"beta", "prior_scale", "top_latent_dim", "test_num_samples", "compile_test"} & set(vae.hparams)


def version_1_gan_options(**options) -> dict:
    """A GANModule's init arguments as a version-1 zoo stored them: the game and the auxiliary heads as flat options."""
    return {"generator": as_config(MLPDecoder), "discriminator": as_config(MLPEncoder), "image_shape": [1, 28, 28],
            "latent_dim": 8, "num_classes": 0, "objective": "non_saturating", "n_critic": 1, "gradient_penalty": 0.0,
            "r1_gamma": 0.0, "r1_every": 1, "r2_gamma": 0.0, "ema_decay": None, "pac": 1, "latent_categories": 0,
            "latent_continuous": 0, "info_weight": 0.0, "info_continuous_weight": 0.0, "info_learn_variance": False,
            "auxiliary_classifier": 0.0, "diffaugment": "", "output_activation": "sigmoid",
            "generator_optimizer": as_config(torch.optim.Adam), "discriminator_optimizer": as_config(torch.optim.Adam),
            "lr_scheduler": None, **options}


def test_a_version_0_checkpoint_keeps_the_options_it_was_trained_with(tmp_path, monkeypatch):
    module = GANModule(latent_dim=8, diffaugment="")
    old = {k: v for k, v in version_1_gan_options().items() if k != "diffaugment"}
    checkpoint = {"state_dict": module.state_dict(), "pytorch-lightning_version": lightning.__version__,
                  "hyper_parameters": old}
    torch.save(checkpoint, tmp_path / "old.ckpt")  # no zoo_format_version: written before versioning
    with_default(monkeypatch, GANModule, "diffaugment", "translation,cutout")
    loaded = GANModule.load_from_checkpoint(tmp_path / "old.ckpt", weights_only=True)
    assert loaded.hparams.diffaugment == ""
    module.on_save_checkpoint(written := {})
    assert written["zoo_format_version"] == migrations.FORMAT_VERSION


@pytest.mark.parametrize("flat, objective, head", [
    ({"objective": "wasserstein", "gradient_penalty": 10.0, "n_critic": 2},
     {"loss": "wasserstein", "n_critic": 2, "gradient_penalty": 10.0, "r1_gamma": 0.0, "r2_gamma": 0.0, "r1_every": 1},
     None),
    ({"objective": "relativistic", "r1_gamma": 0.1, "r2_gamma": 0.2, "r1_every": 4, "latent_categories": 10,
      "latent_continuous": 2, "info_weight": 1.0, "info_continuous_weight": 0.5},
     {"loss": "relativistic", "n_critic": 1, "gradient_penalty": 0.0, "r1_gamma": 0.1, "r2_gamma": 0.2, "r1_every": 4},
     {"class_path": "zoo.modules.auxiliary.InfoGANHead",
      "init_args": {"categories": 10, "continuous": 2, "weight": 1.0, "continuous_weight": 0.5,
                    "learn_variance": False}}),
    ({"num_classes": 10, "auxiliary_classifier": 2.0},
     {"loss": "non_saturating", "n_critic": 1, "gradient_penalty": 0.0, "r1_gamma": 0.0, "r2_gamma": 0.0,
      "r1_every": 1}, {"class_path": "zoo.modules.auxiliary.ACGANHead", "init_args": {"weight": 2.0}}),
])
def test_version_1_gan_options_become_its_objective_and_head(flat, objective, head):
    migrated = migrations.migrate("zoo.GANModule", version_1_gan_options(**flat), 1)
    assert migrated["objective"] == objective and migrated["head"] == head
    gan = GANModule(**migrated)
    assert dict(gan.hparams.objective) == objective
    outputs = {None: 0, "InfoGANHead": 10 + 2, "ACGANHead": 10}[head and head["class_path"].rpartition(".")[2]]
    assert gan.discriminate_with_aux(torch.rand(2, 1, 28, 28))[0].shape == (2,)
    assert gan.discriminator(torch.rand(2, 1, 28, 28), None).shape == (2, 1 + outputs)


def test_a_version_1_categorical_code_without_a_head_is_refused_in_one_line():
    with pytest.raises(WeightsError, match="categorical latent code .10 categories. and no InfoGAN head"):
        migrations.migrate("zoo.GANModule", version_1_gan_options(latent_categories=10), 1)


def test_a_checkpoint_of_another_kind_is_refused_in_one_line(tmp_path):
    module = GANModule(latent_dim=8)
    torch.save({"state_dict": module.state_dict(), "pytorch-lightning_version": lightning.__version__,
                "hyper_parameters": dict(module.hparams)}, tmp_path / "gan.ckpt")
    with pytest.raises(WeightsError, match="is a zoo.GANModule checkpoint, not a zoo.VAEModule one"):
        VAEModule.load_from_checkpoint(tmp_path / "gan.ckpt")


def test_the_steps_run_in_order_from_the_files_version(monkeypatch):
    ran = []
    steps = tuple(lambda kind, args, v=v: ran.append(v) or {**args, f"step{v}": kind} for v in range(3))
    monkeypatch.setattr(migrations, "MIGRATIONS", steps)
    monkeypatch.setattr(migrations, "FORMAT_VERSION", 3)
    assert migrations.migrate("zoo.GANModule", {"a": 1}, 1) == {"a": 1, "step1": "GANModule", "step2": "GANModule"}
    assert ran == [1, 2]
    assert migrations.migrate("zoo.GANModule", {"a": 1}, 3) == {"a": 1}


@pytest.mark.parametrize("version, message", [(99, "written by a newer zoo .format version 99"),
                                              (-1, "whole number >= 0"), ("1", "whole number >= 0")])
def test_a_version_it_cannot_read_is_one_line(tmp_path, version, message):
    VAEModule(latent_dim=4).save_pretrained(tmp_path)
    config = yaml.safe_load((tmp_path / folders.CONFIG).read_text())
    (tmp_path / folders.CONFIG).write_text(yaml.safe_dump({**config, "format_version": version}))
    with pytest.raises(WeightsError, match=message):
        folders.load_folder(tmp_path)


def test_a_checkpoint_whose_option_was_renamed_loads_through_the_step(tmp_path, monkeypatch):
    module = VAEModule(latent_dim=4)
    hparams = {("code_size" if k == "latent_dim" else k): v for k, v in module.hparams.items()}
    torch.save({"state_dict": module.state_dict(), "pytorch-lightning_version": lightning.__version__,
                "hyper_parameters": hparams, "zoo_format_version": migrations.FORMAT_VERSION}, tmp_path / "old.ckpt")

    def rename(kind, args):  # a later release renames code_size to latent_dim
        return {("latent_dim" if k == "code_size" else k): v for k, v in args.items()}

    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, rename))
    monkeypatch.setattr(migrations, "FORMAT_VERSION", migrations.FORMAT_VERSION + 1)
    loaded = VAEModule.load_from_checkpoint(tmp_path / "old.ckpt", weights_only=True)
    assert loaded.hparams.latent_dim == 4 and "code_size" not in loaded.hparams


@pytest.mark.slow  # a fit and a test through the command
def test_the_command_tests_a_version_1_checkpoint_through_the_migration(tmp_path):
    """`lightning test --ckpt_path` puts a checkpoint's hyper-parameters over the recipe's (Lightning's
    _parse_ckpt_path): a checkpoint written before format 2 (flat options) must be read through the migration
    there too, not only by load_from_checkpoint."""
    from zoo.cli.lightning_cli import main

    recipe = str(REPO / "configs/vae/mlp_digits.yaml")
    common = ["--config", recipe, "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]
    fit = main(["fit", *common, "--trainer.fast_dev_run", "true", "--trainer.default_root_dir", str(tmp_path / "a"),
                "--trainer.enable_checkpointing", "true"])
    new = tmp_path / "new.ckpt"
    fit.trainer.save_checkpoint(new)
    checkpoint = torch.load(new, weights_only=True)
    today = checkpoint["hyper_parameters"]
    flat = version_1_vae_options(**{key: value for key, value in today.items()
                                    if key not in ("prior", "objective", "test_nll")},
                                 beta=0.5, test_num_samples=3)
    checkpoint.update(hyper_parameters=flat, zoo_format_version=1)
    torch.save(checkpoint, old := tmp_path / "old.ckpt")
    test = main(["test", *common, "--ckpt_path", str(old), "--trainer.fast_dev_run", "true",
                 "--trainer.default_root_dir", str(tmp_path / "b")])
    assert test.model.objective.beta == 0.5 and test.model.test_nll.num_samples == 3
    report = json.loads((tmp_path / "b" / "test_results.json").read_text())
    assert "test/nll" in report["metrics"]
