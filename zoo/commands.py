"""The `zoo` command: `zoo list [pattern] [--pretrained]`, `zoo export <ckpt> <folder>`."""

import argparse

from zoo import hub, registry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zoo", description="the zoo's registry and weights folders")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="registered entries")
    listing.add_argument("pattern", nargs="?", default="*")
    listing.add_argument("--pretrained", action="store_true", help="only entries with published weights")
    export = commands.add_parser("export", help="turn a Lightning .ckpt of a zoo module into a weights folder")
    export.add_argument("ckpt")
    export.add_argument("folder")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name in registry.list_models(args.pattern, pretrained=True if args.pretrained else None):
            entry = registry.get(name)
            print(f"{name:28s} {'weights' if entry.pretrained else '       '}  {entry.recipe or '':36s} "
                  f"{entry.description}")
    else:
        weights = hub.export_checkpoint(args.ckpt, args.folder)
        print(f"wrote {weights.parent}: {hub.WEIGHTS} (sha256 {hub.sha256_of(weights)}) and {hub.CONFIG}")


if __name__ == "__main__":
    main()
