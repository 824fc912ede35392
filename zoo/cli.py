"""The `lightning` command and `python -m zoo`: a LightningCLI with fit / validate / test / predict.

Model and data are chosen in YAML by class_path/init_args; the data's `dims` are passed to the model's
`image_shape` when both are built, so networks are built for the data they will see.
`configs/trainer.yaml` (next to the package, in a source checkout) gives the trainer defaults.
"""

from pathlib import Path

from lightning.pytorch.cli import LightningCLI

SUBCOMMANDS = ("fit", "validate", "test", "predict")
TRAINER_DEFAULTS = Path(__file__).resolve().parent.parent / "configs" / "trainer.yaml"


class ZooCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("data.dims", "model.init_args.image_shape", apply_on="instantiate")


def main(args: list[str] | None = None) -> LightningCLI:
    """Run the CLI on `args` (default: the command line); returns it, with its trainer, for scripts."""
    defaults = [str(TRAINER_DEFAULTS)] if TRAINER_DEFAULTS.is_file() else []
    return ZooCLI(
        model_class=None,
        datamodule_class=None,
        subclass_mode_model=True,
        subclass_mode_data=True,
        parser_kwargs={cmd: {"default_config_files": defaults} for cmd in SUBCOMMANDS},
        save_config_kwargs={"overwrite": True},
        args=args,
    )


def console() -> None:
    """Entry point of the `lightning` console script (its return value would become the exit code)."""
    main()


if __name__ == "__main__":
    console()
