"""A mistyped option of the `lightning` command is one line naming the closest valid one.

jsonargparse reports `--model.latent_dimm 3` (or the key in a YAML file) as a ten-line "does not validate
against any of the Union subtypes" block that ends in "Option 'latent_dimm' is not accepted", and an unknown
top-level option as "unrecognized arguments"; neither suggests anything. The closest valid name comes from the
signatures of the classes the message names, or from the parser's own options (difflib).
"""

import difflib
import inspect
import re
import sys

from lightning.pytorch.cli import LightningArgumentParser

from zoo.errors import debug_requested

NOT_ACCEPTED = re.compile(r"Option '([^']+)' is not accepted")
CLASS_PATHS = re.compile(r"class_path[ =]'([\w.]+)'")
UNRECOGNIZED = re.compile(r"[Uu]nrecognized arguments: (\S+)")


class ZooParser(LightningArgumentParser):
    def error(self, message: str, ex: Exception | None = None):
        hint = typo_hint(message, getattr(ex, "subcommand_parser", None) or self) if self.exit_on_error else None
        if hint is None or debug_requested([]):  # ZOO_DEBUG=1: jsonargparse's whole report
            return super().error(message, ex)
        sys.stderr.write(f"error: {hint}\n")
        raise SystemExit(2)


def typo_hint(message: str, parser) -> str | None:
    """One line for a mistyped option name: what is wrong and the closest valid name; None for other errors."""
    if bad := NOT_ACCEPTED.search(message):
        option = bad.group(1)
        classes = list(reversed(CLASS_PATHS.findall(message)))  # the innermost class first
        from zoo.hub.migrations import moved_in_version_2

        for class_path in classes:
            if moved := moved_in_version_2(class_path.rpartition(".")[2], option):
                if ":" in moved:  # into a head config
                    return f"{class_path}'s option {option!r} moved into a component: {moved} (zoo.modules.auxiliary)"
                group, _, field = moved.partition(".")
                return (f"{class_path}'s option {option!r} moved into its {group}: --model.{moved} (in a recipe, "
                        f"{group}: {{{field}: ...}})")
        for class_path in classes:
            close = difflib.get_close_matches(option, parameters(class_path), n=1)
            if close:
                return f"{class_path} has no option {option!r}; did you mean {close[0]!r}?"
        if classes and (options := parameters(classes[0])):
            nearest = difflib.get_close_matches(option, options, n=3, cutoff=0.0)
            return (f"{classes[0]} has no option {option!r}; its nearest are {', '.join(map(repr, nearest))} "
                    f"(`lightning fit --config <recipe> --help` lists them all)")
        return None
    if unknown := UNRECOGNIZED.search(message):
        option = unknown.group(1).partition("=")[0]
        names = [name for action in parser._actions for name in action.option_strings if name.startswith("--")]
        close = difflib.get_close_matches(option, names, n=1)
        head, dot, rest = option.partition(".")
        if not close and dot:  # a mistyped group: --modle.latent_dim -> --model.latent_dim
            heads = difflib.get_close_matches(head, {name.partition(".")[0] for name in names}, n=1)
            close = [f"{heads[0]}.{rest}"] if heads else []
        if close:
            return f"unrecognized option {option}; did you mean {close[0]}?"
    return None


def parameters(class_path: str) -> list[str]:
    from zoo.hub.folders import import_object

    try:
        target = import_object(class_path)
    except (ImportError, AttributeError, ValueError):
        return []
    found = []
    for cls in inspect.getmro(target) if inspect.isclass(target) else [target]:  # **kwargs reach the base classes
        if cls is object:
            break
        signature = inspect.signature(cls.__init__ if inspect.isclass(cls) else cls).parameters.values()
        found += [p.name for p in signature if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]
        if not any(p.kind == p.VAR_KEYWORD for p in signature):
            break
    return found

