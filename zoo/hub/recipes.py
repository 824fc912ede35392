"""Where the files that ship with the code are, in a source checkout and in an installed wheel alike.

A checkout keeps the recipes in `configs/` and the weights in `checkpoints/`, beside the package; a wheel
carries the recipes (and the digit classifier FID needs) inside it, as `zoo/configs/` and
`zoo/checkpoints/digit_classifier.mnist/` (setup.py maps them in). `zoo:vae/mlp_digits.yaml` names a recipe
from anywhere: `lightning fit --config zoo:vae/mlp_digits.yaml`, and inside a recipe (`model: zoo:...`).
"""

import difflib
import re
from pathlib import Path

from zoo.errors import RecipeNotFoundError

PACKAGE = Path(__file__).resolve().parents[1]  # zoo/
PREFIX = "zoo:"


def shipped(name: str) -> Path:
    """`zoo/<name>` in a wheel, else `<checkout>/<name>`."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


CONFIGS = shipped("configs")
CHECKPOINTS = shipped("checkpoints")
TRAINER_DEFAULTS = CONFIGS / "trainer.yaml"


def list_recipes() -> list[str]:
    """The recipes as `zoo:` names (the trainer defaults included), sorted."""
    return sorted(PREFIX + path.relative_to(CONFIGS).as_posix() for path in CONFIGS.rglob("*.yaml"))


def resolve(value: str) -> str:
    """`zoo:<recipe>.yaml` -> the recipe's path; any other string unchanged."""
    if not re.fullmatch(rf"{PREFIX}\S+\.ya?ml", value):
        return value
    path = CONFIGS / value[len(PREFIX):]
    if not path.is_file():
        raise RecipeNotFoundError(f"no recipe {value!r}; {nearest(value)}")
    return str(path)


def nearest(value: str) -> str:
    """The shipped recipes most like `value` (a mistyped `zoo:` name or path), for a one-line message."""
    names = list_recipes()
    stem = value.removeprefix(PREFIX).split("configs/")[-1]
    close = difflib.get_close_matches(PREFIX + stem, names, n=3, cutoff=0.5)
    if not close:
        close = [name for name in names if Path(stem).name.split("_")[0] in name][:3]
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return f"{hint}`zoo recipes` lists all {len(names)}"


def check_config_path(value: str) -> None:
    """A --config value that names no file: one line with the nearest shipped recipes."""
    if value.startswith(("{", "[")) or "\n" in value or Path(value).is_file():  # inline YAML or a file
        return
    raise RecipeNotFoundError(f"--config {value}: no such file; {nearest(value)}")


def resolve_argument(argument: str) -> str:
    """A command-line token: `zoo:x.yaml` or `--config=zoo:x.yaml` -> the recipe's path."""
    option, equals, value = argument.partition("=")
    if equals and option.startswith("--"):
        return f"{option}={resolve(value)}"
    return resolve(argument)


def resolve_nested(value):
    """Every `zoo:<recipe>.yaml` string inside a loaded YAML value -> the recipe's path (recursively)."""
    if isinstance(value, str):
        return resolve(value)
    if isinstance(value, dict):
        return {key: resolve_nested(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_nested(item) for item in value]
    return value
