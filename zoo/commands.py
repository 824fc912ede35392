"""The `zoo` command: `zoo list [pattern] [--pretrained]`, `zoo export <ckpt> <folder> [--force]`.

A mistake (an unknown name, a file of the wrong kind, a non-empty folder) is one line, `error: <message>`, and
exit status 2; `--debug` or ZOO_DEBUG=1 shows its traceback.
"""

import argparse
import sys

from zoo import hub, registry
from zoo.errors import UnknownEntryError, debug_requested, one_line_errors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zoo", description="the zoo's registry and weights folders")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="registered entries")
    listing.add_argument("pattern", nargs="?", default="*", help="shell-style, e.g. 'vae*' or '*.mnist'")
    listing.add_argument("--pretrained", action="store_true", help="only entries with published weights")
    export = commands.add_parser("export", help="turn a Lightning .ckpt of a zoo module into a weights folder")
    export.add_argument("ckpt")
    export.add_argument("folder")
    export.add_argument("--force", action="store_true", help="overwrite the files of a folder that is not empty")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    with one_line_errors(debug_requested(argv)):
        if args.command == "list":
            list_entries(args.pattern, args.pretrained)
        else:
            weights = hub.export_checkpoint(args.ckpt, args.folder, force=args.force)
            print(f"wrote {weights.parent}: {hub.WEIGHTS} (sha256 {hub.sha256_of(weights)}) and {hub.CONFIG}")


def list_entries(pattern: str, pretrained: bool) -> None:
    names = registry.list_models(pattern, pretrained=True if pretrained else None)
    if not names:
        raise UnknownEntryError(f"no zoo entry{' with weights' if pretrained else ''} matches {pattern!r} (patterns "
                                f"are shell-style: {pattern.rstrip('*') + '*'!r} matches what starts with it); "
                                f"{registry.known_names(pattern)}")
    for name in names:
        entry = registry.get(name)
        print(f"{name:28s} {'weights' if entry.pretrained else '       '}  {entry.recipe or '':36s} "
              f"{entry.description}")


if __name__ == "__main__":
    main()
