"""A weights folder or checkpoint from elsewhere is data: its config may name only allow-listed classes, at any
depth, and anything else is refused before it is imported or called."""

import builtins
import copy
import importlib
import os
import shutil
import subprocess
import sys
from functools import partial

import pytest
import torch
import yaml

from tests.conftest import REPO
from zoo import GANModule, VAEModule
from zoo.cli.commands import main as zoo_command
from zoo.cli.console import console
from zoo.cli.lightning_cli import main
from zoo.errors import UntrustedConfigError
from zoo.hub import allowlist, folders, registry

TRAP = "zoo_trap_module"  # a module planted on sys.path: importing it, or calling its Boom, leaves a file behind
TARGETS = ["builtins.print", "os.system", "subprocess.Popen", f"{TRAP}.Boom"]
CLI_PLACES = ("class_path", "init_args.discriminator.init_args.features.class_path", "init_args.generator")


@pytest.fixture
def trap(tmp_path, monkeypatch):
    """The planted module, and recorders in place of print, os.system, subprocess.Popen and every import."""
    marker = tmp_path / "trap-was-imported"
    (tmp_path / "trap").mkdir()
    (tmp_path / "trap" / f"{TRAP}.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\nclass Boom:\n    def __init__(self, *a, **k):\n"
        f"        open({str(marker)!r} + '-called', 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path / "trap"))
    calls, imports = [], []
    for owner, name in [(builtins, "print"), (os, "system"), (subprocess, "Popen")]:
        monkeypatch.setattr(owner, name, lambda *a, _name=name, **k: calls.append(_name))
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def recording(importer):
        return lambda name, *args, **kwargs: imports.append(name) or importer(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", recording(real_import))
    monkeypatch.setattr(importlib, "import_module", recording(real_import_module))
    yield calls, imports
    assert TRAP not in sys.modules and not marker.exists(), "the planted module was imported"
    assert not any(TRAP in name for name in imports), imports


def poisoned_configs(config: dict, target: str):
    """`config` with `target` put at each place a loader could import it from: (place, config)."""
    def at(path, value):
        poisoned = copy.deepcopy(config)
        node = poisoned
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return ".".join(map(str, path)), poisoned

    spec = {"class_path": target, "init_args": {}}
    yield at(["class_path"], target)
    yield at(["init_args", "generator", "class_path"], target)
    yield at(["init_args", "discriminator", "init_args", "features", "class_path"], target)  # three deep
    yield at(["init_args", "generator_optimizer", "class_path"], target)
    yield at(["init_args", "lr_scheduler"], spec)
    yield at(["init_args", "generator"], target)  # a bare import path where a factory goes
    yield at(["init_args", "generator", "init_args", "base_channels"], spec)
    yield at(["init_args", "generator", "init_args", "extra"], [1, {"deeper": [spec]}])
    yield at(["init_args", "generator", "init_args", "norm"], f" {target.replace('.', ' . ')} ")  # spaced out
    yield at(["_instantiator"], target)


def gan_config() -> dict:
    """The shipped cgan.mnist config with its players in the nested form a recipe may give them: the generator as
    a class_path config, the discriminator as a projection discriminator holding its features network one level
    deeper (both on the allow-list, so only the planted name can be refused)."""
    config = yaml.safe_load((registry.weights_folder("cgan.mnist") / folders.CONFIG).read_text())
    config["init_args"]["generator"] = {"class_path": "zoo.nets.InfoGANGenerator", "init_args": {}}
    config["init_args"]["discriminator"] = {"class_path": "zoo.nets.ProjectionDiscriminator", "init_args": {
        "features": {"class_path": "zoo.nets.InfoGANDiscriminator", "init_args": {}}, "feature_dim": 1024}}
    return config


def test_every_shipped_config_and_recipe_model_is_on_the_allow_list():
    for name in registry.list_models(pretrained=True):
        allowlist.check_config(yaml.safe_load((registry.weights_folder(name) / folders.CONFIG).read_text()), name)
    for recipe in (REPO / "configs").glob("*/*.yaml"):
        allowlist.check_config(yaml.safe_load(recipe.read_text()).get("model"), str(recipe))


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_a_weights_folder_naming_code_anywhere_is_refused_before_any_import(target, trap, tmp_path):
    calls, _ = trap
    source = registry.weights_folder("cgan.mnist")
    not_refused = []
    for place, config in poisoned_configs(gan_config(), target):
        folder = tmp_path / place
        shutil.copytree(source, folder)
        (folder / folders.CONFIG).write_text(yaml.safe_dump(config))
        not_refused.append((place, outcome(partial(folders.load_folder, folder), target)))
    assert [(place, got) for place, got in not_refused if got != "refused"] == []
    assert calls == []


def outcome(load, target: str) -> str:
    """"refused" when `load` raises the one-line allow-list error naming `target`; else what happened."""
    try:
        load()
    except UntrustedConfigError as error:
        message = str(error)
        ok = "nothing was imported" in message and target.split(".")[-1] in message and "\n" not in message
        return "refused" if ok else message
    except Exception as error:  # noqa: BLE001 (any other outcome is the failure being reported)
        return f"{type(error).__name__}: {error}"
    return "loaded"


@pytest.fixture(scope="module")
def gan_checkpoint(tmp_path_factory):
    """A real GANModule checkpoint's contents, to poison."""
    gan = registry.load_pretrained("cgan.mnist")
    players = {key: gan_config()["init_args"][key] for key in ("generator", "discriminator")}  # nested, as there
    return {"state_dict": gan.state_dict(),
            "hyper_parameters": {"_class_path": "zoo.GANModule", **gan.hparams, **players},
            "pytorch-lightning_version": "2.6.6"}


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_a_checkpoint_naming_code_anywhere_is_refused_before_any_import(target, trap, gan_checkpoint, tmp_path,
                                                                        capsys):
    calls, _ = trap
    hparams = gan_checkpoint["hyper_parameters"]
    not_refused = []
    for place, config in poisoned_configs({"class_path": hparams["_class_path"], "init_args": hparams}, target):
        poisoned = {**config["init_args"], "_class_path": config["class_path"]}
        if place == "_instantiator":
            poisoned["_instantiator"] = target
        path = tmp_path / f"{place}.ckpt"
        torch.save({**gan_checkpoint, "hyper_parameters": poisoned}, path)
        routes = {"load_from_checkpoint": partial(GANModule.load_from_checkpoint, path, weights_only=True),
                  "export": partial(folders.export_checkpoint, path, tmp_path / "exported")}
        if place in CLI_PLACES and TRAP in target:  # the command line (jsonargparse): each call takes seconds
            routes["lightning test"] = partial(main, [
                "test", "--config", str(REPO / "configs/gan/cgan_mnist.yaml"), "--ckpt_path", str(path),
                "--trainer.logger", "false", "--trainer.default_root_dir", str(tmp_path), "--data.root", str(tmp_path)])
        not_refused += [(place, route, outcome(load, target)) for route, load in routes.items()]
    assert [found for found in not_refused if found[-1] != "refused"] == []
    assert calls == []


def test_the_cli_and_export_print_one_line_for_an_untrusted_checkpoint(gan_checkpoint, tmp_path, capsys):
    path = tmp_path / "evil.ckpt"
    torch.save({**gan_checkpoint, "hyper_parameters": {**gan_checkpoint["hyper_parameters"], "generator": {
        "class_path": "os.system", "init_args": {"command": "echo hi"}}}}, path)
    for run in (lambda: console(["test", "--config", str(REPO / "configs/gan/cgan_mnist.yaml"), "--ckpt_path",
                                 str(path)]),
                lambda: zoo_command(["export", str(path), str(tmp_path / "out")])):
        with pytest.raises(SystemExit) as exit_status:
            run()
        assert exit_status.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "'os.system'" in err, err
    assert not (tmp_path / "out").exists()


def test_a_class_of_your_own_can_be_allowed_for_a_file_you_trust(monkeypatch):
    monkeypatch.setattr(allowlist, "ALLOWED_BY_YOU", set())
    config = {"class_path": "zoo.VAEModule", "init_args": {"encoder": {"class_path": "mine.Encoder"}}}
    with pytest.raises(UntrustedConfigError, match="allow it first: zoo.hub.allowlist.allow\\('mine.Encoder'\\)"):
        allowlist.check_config(config, "f")
    allowlist.allow("mine.Encoder")
    allowlist.check_config(config, "f")


def test_plain_strings_are_data(monkeypatch):
    """Option values such as an objective's name or an activation are not import paths."""
    config = {"class_path": "zoo.GANModule", "init_args": {"objective": "hinge", "generator": {
        "class_path": "zoo.nets.MLPDecoder", "init_args": {"activation": "LeakyReLU"}}, "lr": "1e-3"}}
    allowlist.check_config(config, "f")
    assert VAEModule  # the modules stay importable names on the list
    assert {"zoo.VAEModule", "zoo.nets.mlp.MLPEncoder", "torch.optim.Adam", "torch.optim.adam.Adam",
            "torch.optim.lr_scheduler.LinearLR"} <= allowlist.allowed()
