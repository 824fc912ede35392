"""The `lightning` command and `python -m zoo`: a LightningCLI with fit / validate / test / predict.

Model and data are chosen in YAML by class_path/init_args; the data's `dims` are passed to the model's
`image_shape` when both are built, so networks are built for the data they will see.
`configs/trainer.yaml` gives the trainer defaults (in a checkout and in a wheel: `zoo.hub.recipes`), and
`--config zoo:vae/mlp_digits.yaml` names a shipped recipe from any folder.
`test` also writes `test_results.json` beside the run: every test metric and the protocol behind it.
"""

import inspect
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import yaml
from jsonargparse import get_loader, set_loader
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities import rank_zero_info

from zoo.callbacks import SparseProgressBar
from zoo.cli.console import SUBCOMMANDS, check_arguments
from zoo.cli.denormals import flushing
from zoo.cli.loggers import wandb_logger
from zoo.cli.typos import ZooParser
from zoo.errors import InputError, UnknownEntryError, WeightsError
from zoo.factories import build
from zoo.hub import folders, recipes
from zoo.hub.allowlist import leaves
from zoo.hub.compatibility import check_fits
from zoo.kinds import KINDS

RANDOM = "random"  # --weights random: test an untrained model on purpose
TRAINER_DEFAULTS = recipes.TRAINER_DEFAULTS
YAML_LOAD = get_loader("yaml")  # jsonargparse's own YAML reading (its number and `key:` handling), then `zoo:`
set_loader("zoo_yaml", lambda text: recipes.resolve_nested(YAML_LOAD(text)), exceptions=(yaml.YAMLError,))


class ZooCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.dims", "model.init_args.image_shape", apply_on="instantiate")
        parser.add_argument("--wandb", type=Literal["auto", "online", "offline", "off"], default="auto",
                            help="also log to Weights & Biases (auto: online with an API key and a connection, "
                                 "else offline; WANDB_MODE wins)")
        parser.add_argument("--wandb_project", type=str, default="zoo")
        parser.add_argument("--wandb_log_model", type=bool | Literal["all"], default=False,
                            help="upload checkpoints as W&B artifacts (online only)")
        parser.add_argument("--flush_denormals", type=bool, default=True,
                            help="flush denormal floats to zero on the CPU for the whole command: an fp32 step "
                                 "slows by half once they appear (zoo.cli.denormals)")
        parser.add_argument("--weights", type=str | None, default=None,
                            help="zoo weights to load into the model first: a registry name (e.g. vae_mlp.mnist), "
                                 "a weights folder or a .safetensors file; `random` tests an untrained model")

    def instantiate_trainer(self, **kwargs):
        if self.subcommand is not None:
            self.check_before_running()  # before the trainer and its loggers exist
        init = (self.config_init[self.subcommand] if self.subcommand else self.config_init).get("trainer", {})
        callbacks = init.get("callbacks") or []
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        if init.get("enable_progress_bar") is not False and not any(isinstance(c, ProgressBar) for c in callbacks):
            kwargs["callbacks"] = [*callbacks, SparseProgressBar()]
        trainer = super().instantiate_trainer(**kwargs)
        config = self.config[self.subcommand]
        if trainer.loggers and self.subcommand == "fit":
            run_dir = trainer.loggers[0].log_dir or trainer.default_root_dir
            wandb = wandb_logger(config.wandb, str(run_dir), config.wandb_project, config.wandb_log_model)
            if wandb is not None:
                trainer.loggers = [*trainer.loggers, wandb]
        return trainer

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        torch.set_flush_denormal(config.get("flush_denormals", True))  # before the model starts the thread pool

    def after_instantiate_classes(self) -> None:
        """The model is always built for the data's images: an image_shape given for it must be the data's."""
        config = self.config[self.subcommand] if self.subcommand else self.config
        given = tuple(config.model.init_args.get("image_shape") or ())
        default = inspect.signature(type(self.model)).parameters.get("image_shape")
        default = tuple(default.default) if default and default.default is not inspect.Parameter.empty else None
        named = any(arg.startswith(("--model.image_shape", "--model.init_args.image_shape")) for arg in self.given_args)
        dims = getattr(self.datamodule, "dims", None)
        if dims is not None and given and tuple(dims) != given and (named or given != default):
            raise InputError(f"--model.image_shape {list(given)} differs from the data's images {list(dims)}: the "
                             f"model is always built for the data; drop --model.image_shape or change the data")

    def check_before_running(self) -> None:
        """What would fail once the run has begun (and made its run folder) fails now, in one line: an optimizer
        argument torch refuses (lr < 0, say), and data that is not on disk when nothing may be downloaded."""
        for name, factory in self.model.hparams.items():
            if not name.endswith("optimizer") or factory is None:
                continue
            try:
                build(factory, [torch.nn.Parameter(torch.zeros(1))])
            except (ValueError, TypeError) as error:
                raise InputError(f"--model.{name}: {str(error).splitlines()[0]}") from error
        data = self.datamodule
        if data is not None and getattr(data, "download", True) is False and hasattr(data, "load_or_explain"):
            data.setup("fit" if self.subcommand == "fit" else self.subcommand)  # kept: the run's setup reuses it

    def load_weights(self) -> None:
        config = self.config[self.subcommand]
        weights = config.get("weights")
        if not weights:
            if self.subcommand == "test" and not config.get("ckpt_path"):
                raise InputError("`test` without --ckpt_path or --weights would score an untrained model: pass "
                                 "--ckpt_path <run>/checkpoints/last.ckpt or --weights <entry, folder or .safetensors> "
                                 "(or --weights random, to test an untrained model on purpose)")
            return
        if weights == RANDOM:
            rank_zero_info("testing an untrained model (--weights random)")
            return
        found = resolve_weights(weights)
        if found.config is not None:
            own = {"class_path": f"zoo.{type(self.model).__name__}", "init_args": dict(self.model.hparams)}
            check_fits(found.config, own, f"--weights {weights}", found.recipe)
        stored = (found.config or {}).get("init_args", {})
        if stored.get("ex_post_samplers") and hasattr(self.model, "adopt_samplers"):  # fitted ex-post samplers
            named = any(arg.startswith(("--model.sampler", "--model.init_args.sampler")) for arg in self.given_args)
            self.model.adopt_samplers(stored["ex_post_samplers"], None if named else stored.get("sampler"))
        folders.load_weights(self.model, found.path)
        self.loaded_weights = found.path
        rank_zero_info(f"loaded zoo weights {found.path}")

    before_fit = before_validate = before_test = before_predict = load_weights

    def parse_arguments(self, parser, args) -> None:
        self.given_args = list(sys.argv[1:] if args is None else args) if not isinstance(args, dict) else []
        super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        """Lightning puts a checkpoint's hyper-parameters over the command line's (Lightning-AI/pytorch-lightning
        PR 21455); put the `--model.<name> value` arguments given on the command line back on top, so that,
        for instance, `lightning test ... --ckpt_path c.ckpt --model.test_nll.num_samples 100` uses k=100.
        A missing, corrupted or other-module checkpoint fails here, with a message saying which; a zoo module's
        checkpoint of an older format is read through zoo.hub.migrations first, as load_from_checkpoint reads it."""
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        kinds = []
        if ckpt_path and ckpt_path not in ("last", "best", "hpc", "registry"):
            recipe = self.config[subcommand].model.as_dict()
            trusted = tuple(value for _, key, value in leaves(recipe) if key == "class_path")  # named by you
            model_class = folders.import_object(recipe["class_path"])
            kinds = [kind.class_path for kind in KINDS
                     if issubclass(model_class, folders.import_object(kind.class_path))]
            if not kinds:
                folders.read_hyperparameters(ckpt_path, trusted)  # the allow-list, before Lightning reads them
        if kinds:  # a zoo module's checkpoint: read once, checked, in today's format
            hparams = folders.read_migrated_checkpoint(ckpt_path, kinds[0], trusted)["hyper_parameters"]
            stored = {"class_path": hparams.get("_class_path", kinds[0]), "init_args": hparams}
            check_fits(stored, recipe, f"--ckpt_path {ckpt_path}", None, classes_only=True)
            self.put_checkpoint_hyperparameters(hparams, subcommand)
        else:
            super()._parse_ckpt_path()
        overrides = model_arguments(self.given_args)
        if overrides and subcommand:
            model = {"class_path": self.config[subcommand].model.class_path, "init_args": overrides}
            self.config = self.parser.parse_object({subcommand: {"model": model}}, self.config)

    def put_checkpoint_hyperparameters(self, hparams: dict, subcommand: str) -> None:
        """What Lightning's _parse_ckpt_path does with a checkpoint's hyper-parameters, for ones already read."""
        hparams = {key: value for key, value in hparams.items() if key != "_instantiator"}
        if not hparams:
            return
        if "_class_path" in hparams:
            hparams = {"class_path": hparams.pop("_class_path"), "dict_kwargs": hparams}
        self.config = self.parser.parse_object({subcommand: {"model": hparams}}, self.config)

    def after_test(self) -> None:
        trainer = self.trainer
        path = Path(trainer.log_dir or trainer.default_root_dir) / "test_results.json"  # collective: every rank
        if trainer.is_global_zero:
            self.write_report(path)

    def write_report(self, path: Path) -> None:
        trainer = self.trainer
        metrics = {k: float(v) for k, v in sorted(trainer.callback_metrics.items()) if k.startswith("test/")}
        protocols = {type(callback).__name__: callback.protocol for callback in trainer.callbacks
                     if getattr(callback, "protocol", None)}
        if getattr(self.model, "test_protocol", None):
            protocols[type(self.model).__name__] = self.model.test_protocol
        config = self.config[self.subcommand]
        tested = {"ckpt_path": config.get("ckpt_path"), "weights": config.get("weights")}
        if tested["ckpt_path"] in (None, "last", "best", "hpc", "registry"):
            tested["ckpt_path"] = trainer.ckpt_path or tested["ckpt_path"]
        files = {"ckpt_path": tested["ckpt_path"], "weights": getattr(self, "loaded_weights", None)}
        sha256 = {name: folders.sha256_of(path) for name, path in files.items() if path and Path(path).is_file()}
        report = {"configs": [str(c) for c in config.get("config") or []], **tested,
                  "weights_file": str(files["weights"]) if files["weights"] else None, "sha256": sha256,
                  "metrics": metrics, "protocols": protocols,
                  "versions": {"torch": torch.__version__}}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1, default=str) + "\n")
        rank_zero_info(f"wrote {path}")


@dataclass
class FoundWeights:
    path: Path  # the safetensors file
    config: dict | None  # what its folder's config.yaml (or the file's metadata) says the model is
    recipe: str | None  # the recipe of the zoo entry the weights belong to, if they are an entry's


def resolve_weights(weights: str) -> FoundWeights:
    """A registry name, weights folder or .safetensors file -> the weights file and what it is (a registry entry's
    files are hash-checked; a file of another kind is refused, naming the flag or command it is for)."""
    from zoo.hub import registry

    if weights in registry.REGISTRY:
        folder = registry.weights_folder(weights)
        entry = registry.get(weights)
        folders.check_hash(folder / folders.WEIGHTS, entry.sha256.get(folders.WEIGHTS))
        folders.check_hash(folder / folders.CONFIG, entry.sha256.get(folders.CONFIG))
        return FoundWeights(folder / folders.WEIGHTS, folders.read_config(folder), entry.recipe)
    path = Path(weights)
    kind = folders.kind_of(path)
    if kind == "missing":
        raise UnknownEntryError(f"--weights {weights}: no such file or folder, and no zoo entry of that name; "
                                f"{registry.known_names(weights)}")
    if kind == "checkpoint":
        raise WeightsError(f"--weights {weights} is a Lightning checkpoint: pass it with --ckpt_path, or make a "
                           f"weights folder of it with `zoo export {weights} <folder>`")
    if kind not in ("weights folder", "safetensors"):
        raise WeightsError(f"--weights {weights} is not zoo weights (a folder with {folders.WEIGHTS} and "
                           f"{folders.CONFIG}, or a .safetensors file); `zoo export <ckpt> <folder>` makes a weights "
                           f"folder")
    if kind == "weights folder":
        path = path / folders.WEIGHTS
        config = folders.read_config(path.parent) if (path.parent / folders.CONFIG).is_file() else None
    else:
        class_path = folders.read_safetensors(path, metadata_only=True).get("class_path")
        config = {"class_path": class_path, "init_args": {}} if class_path else None
    sha256 = folders.sha256_of(path)
    recipe = next((entry.recipe for entry in registry.REGISTRY.values() if entry.sha256.get(folders.WEIGHTS) == sha256),
                  None)
    return FoundWeights(path, config, recipe)


def model_arguments(args: list[str]) -> dict:
    """{name: value} of the `--model.<name> value` and `--model.init_args.<name>=value` arguments, a dotted name
    nested: `--model.test_nll.num_samples 100` gives {"test_nll": {"num_samples": 100}} (the arguments of a class
    given by class_path, `--model.lr_scheduler.init_args.gamma`, are left to Lightning)."""
    found = {}
    for i, arg in enumerate(args):
        if not arg.startswith("--model."):
            continue
        key, _, value = arg[len("--model."):].partition("=")
        if not _ and i + 1 < len(args):
            value = args[i + 1]
        *parents, name = key.removeprefix("init_args.").split(".")
        if not name or {"class_path", "init_args"} & {*parents, name}:  # a class's arguments: Lightning's own way
            continue
        inner = found
        for parent in parents:
            inner = inner.setdefault(parent, {})
        inner[name] = yaml.safe_load(value)
    return found


def main(args: list[str] | None = None) -> LightningCLI:
    """Run the CLI on `args` (default: the command line); returns it, with its trainer, for scripts."""
    defaults = [str(TRAINER_DEFAULTS)] if TRAINER_DEFAULTS.is_file() else []
    if not isinstance(args, dict):
        args = [recipes.resolve_argument(arg) for arg in (sys.argv[1:] if args is None else args)]
        check_arguments(args)
    flushed_before = flushing()
    with warnings.catch_warnings():  # Lightning's advice against args beside sys.argv: here they are the same ones
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended to run from within")
        try:
            return build_cli(defaults, args)
        finally:
            torch.set_flush_denormal(flushed_before)  # a script that called main() gets its own mode back


def build_cli(defaults: list[str], args) -> LightningCLI:
    return ZooCLI(
        model_class=None,
        datamodule_class=None,
        subclass_mode_model=True,
        subclass_mode_data=True,
        parser_class=ZooParser,
        parser_kwargs={"parser_mode": "zoo_yaml",  # `zoo:` recipe names inside YAML files too
                       **{cmd: {"default_config_files": defaults, "parser_mode": "zoo_yaml"} for cmd in SUBCOMMANDS}},
        save_config_kwargs={"overwrite": True},
        args=args,
    )


if __name__ == "__main__":
    from zoo.cli.console import console

    console()
