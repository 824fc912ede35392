"""The `lightning` console script and `python -m zoo`. The mistakes that need no model (a --config naming no file,
a subcommand without a recipe) are said before torch and Lightning load, in a fraction of a second; the rest is
`zoo.cli.lightning_cli`. A mistake the zoo knows (a ZooError) is one line, `error: <message>`, and exit status 2;
`--debug` or
ZOO_DEBUG=1 shows its traceback instead.
"""

import sys

from zoo.errors import InputError, debug_requested, one_line_errors
from zoo.hub import recipes

SUBCOMMANDS = ("fit", "validate", "test", "predict")


def check_arguments(args: list[str]) -> None:
    """Mistakes that jsonargparse would answer with a page of usage: a --config that names no file, and a
    subcommand without the recipe that says which model and data to use."""
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            recipes.check_config_path(args[i + 1])
        elif arg.startswith("--config="):
            recipes.check_config_path(arg.partition("=")[2])
    named = any(arg == "--config" or arg.startswith(("--config=", "--model")) for arg in args)
    helping = any(arg in ("-h", "--help") or arg.startswith("--print_config") for arg in args)
    if args and args[0] in SUBCOMMANDS and not named and not helping:
        raise InputError(f"`lightning {args[0]}` needs a recipe: pass --config <recipe>, e.g. --config "
                         f"zoo:vae/mlp_digits.yaml (`zoo recipes` lists them)")


def console(args: list[str] | None = None) -> None:
    """Entry point of the `lightning` console script and `python -m zoo`: a mistake the zoo knows (a ZooError) is
    one line, `error: <message>`, and exit status 2; `--debug` or ZOO_DEBUG=1 shows its traceback instead."""
    args = list(sys.argv[1:] if args is None else args)
    with one_line_errors(debug_requested(args)):
        args = [arg for arg in args if arg != "--debug"]
        check_arguments([recipes.resolve_argument(arg) for arg in args])
        from zoo.cli.lightning_cli import main

        main(args)
