"""The `lightning` command and `python -m zoo`: a LightningCLI with fit / validate / test / predict.

Model and data are chosen in YAML by class_path/init_args; the data's `dims` are passed to the model's
`image_shape` when both are built, so networks are built for the data they will see.
`configs/trainer.yaml` gives the trainer defaults (in a checkout and in a wheel: `zoo.recipes`), and
`--config zoo:vae/mlp_digits.yaml` names a shipped recipe from any folder.
`test` also writes `test_results.json` beside the run: every test metric and the protocol behind it.
"""

import json
import sys
from pathlib import Path
from typing import Literal

import torch
import yaml
from jsonargparse import get_loader, set_loader
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.utilities import rank_zero_info

from zoo import hub, recipes
from zoo.loggers import wandb_logger

SUBCOMMANDS = ("fit", "validate", "test", "predict")
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
        parser.add_argument("--weights", type=str | None, default=None,
                            help="zoo weights to load into the model first: a registry name (e.g. vae_mlp.mnist), "
                                 "a weights folder or a .safetensors file")

    def instantiate_trainer(self, **kwargs):
        trainer = super().instantiate_trainer(**kwargs)
        config = self.config[self.subcommand]
        if trainer.loggers and self.subcommand == "fit":
            run_dir = trainer.loggers[0].log_dir or trainer.default_root_dir
            wandb = wandb_logger(config.wandb, str(run_dir), config.wandb_project, config.wandb_log_model)
            if wandb is not None:
                trainer.loggers = [*trainer.loggers, wandb]
        return trainer

    def load_weights(self) -> None:
        weights = self.config[self.subcommand].get("weights")
        if weights:
            path = resolve_weights(weights)
            hub.load_weights(self.model, path)
            rank_zero_info(f"loaded zoo weights {path}")

    before_fit = before_validate = before_test = before_predict = load_weights

    def parse_arguments(self, parser, args) -> None:
        self.given_args = list(sys.argv[1:] if args is None else args) if not isinstance(args, dict) else []
        super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        """Lightning puts a checkpoint's hyper-parameters over the command line's (Lightning-AI/pytorch-lightning
        PR 21455); put the `--model.<name> value` arguments given on the command line back on top, so that,
        for instance, `lightning test ... --ckpt_path c.ckpt --model.test_num_samples 100` uses k=100.
        A missing, corrupted or other-module checkpoint fails here, with a message saying which."""
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if ckpt_path and ckpt_path not in ("last", "best", "hpc", "registry"):
            model_class = hub.import_object(self.config[subcommand].model.class_path)
            kinds = [kind for kind in ("zoo.VAEModule", "zoo.GANModule")
                     if issubclass(model_class, hub.import_object(kind))]
            if kinds:
                hub.check_checkpoint_kind(ckpt_path, kinds[0])
            else:
                hub.read_checkpoint(ckpt_path)
        super()._parse_ckpt_path()
        overrides = model_arguments(self.given_args)
        if overrides and subcommand:
            model = {"class_path": self.config[subcommand].model.class_path, "init_args": overrides}
            self.config = self.parser.parse_object({subcommand: {"model": model}}, self.config)

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
        report = {"configs": [str(c) for c in config.get("config") or []], "ckpt_path": config.get("ckpt_path"),
                  "metrics": metrics, "protocols": protocols,
                  "versions": {"torch": torch.__version__}}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1, default=str) + "\n")
        rank_zero_info(f"wrote {path}")


def resolve_weights(weights: str) -> Path:
    """A registry name, folder or file -> the safetensors file (a registry name's hashes are checked)."""
    from zoo import registry

    if weights in registry.REGISTRY:
        folder = registry.weights_folder(weights)
        hub.check_hash(folder / hub.WEIGHTS, registry.get(weights).sha256.get(hub.WEIGHTS))
        return folder / hub.WEIGHTS
    path = Path(weights)
    path = path / hub.WEIGHTS if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"--weights {weights}: neither a registry name nor an existing weights file/folder")
    return path


def model_arguments(args: list[str]) -> dict:
    """{name: value} of the `--model.<name> value` and `--model.init_args.<name>=value` arguments."""
    found = {}
    for i, arg in enumerate(args):
        if not arg.startswith("--model."):
            continue
        key, _, value = arg[len("--model."):].partition("=")
        if not _ and i + 1 < len(args):
            value = args[i + 1]
        key = key.removeprefix("init_args.")
        if key and "." not in key and key != "class_path":
            found[key] = yaml.safe_load(value)
    return found


def main(args: list[str] | None = None) -> LightningCLI:
    """Run the CLI on `args` (default: the command line); returns it, with its trainer, for scripts."""
    defaults = [str(TRAINER_DEFAULTS)] if TRAINER_DEFAULTS.is_file() else []
    if not isinstance(args, dict):
        args = [recipes.resolve_argument(arg) for arg in (sys.argv[1:] if args is None else args)]
    return ZooCLI(
        model_class=None,
        datamodule_class=None,
        subclass_mode_model=True,
        subclass_mode_data=True,
        parser_kwargs={"parser_mode": "zoo_yaml",  # `zoo:` recipe names inside YAML files too
                       **{cmd: {"default_config_files": defaults, "parser_mode": "zoo_yaml"} for cmd in SUBCOMMANDS}},
        save_config_kwargs={"overwrite": True},
        args=args,
    )


def console() -> None:
    """Entry point of the `lightning` console script (its return value would become the exit code)."""
    main()


if __name__ == "__main__":
    console()
