"""The `zoo` command: `zoo list [pattern] [--pretrained]`, `zoo recipes`, `zoo export <ckpt> <folder> [--force]`,
`zoo card <name> [--out png]`, `zoo push <folder> <repo_id>`, and the release pipeline a maintainer (or a user
publishing their own entry) runs in a checkout: `zoo release [--only name ...]`, `zoo fit-sampler <folder>`.

A mistake (an unknown name, a file of the wrong kind, a non-empty folder) is one line, `error: <message>`, and
exit status 2; `--debug` or ZOO_DEBUG=1 shows its traceback.
"""

import argparse
import importlib
import json
import sys
from pathlib import Path

from zoo.errors import InputError, UnknownEntryError, WeightsNotFoundError, debug_requested, one_line_errors
from zoo.hub import recipes, registry

DELEGATED = {  # sub-commands with parsers of their own: `zoo release --help` shows theirs
    "release": ("zoo.hub.release", "export trained runs to checkpoints/, re-evaluate them, write cards and tables"),
    "fit-sampler": ("zoo.hub.fit_sampler", "fit an ex-post latent sampler to a VAE weights folder"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zoo", description="the zoo's registry, recipes and weights folders")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="registered entries")
    listing.add_argument("pattern", nargs="?", default="*", help="shell-style, e.g. 'vae*' or '*.mnist'")
    listing.add_argument("--pretrained", action="store_true", help="only entries with published weights")
    commands.add_parser("recipes", help="the shipped recipes, as `lightning fit --config zoo:<name>` takes them")
    export = commands.add_parser("export", help="turn a Lightning .ckpt of a zoo module into a weights folder")
    export.add_argument("ckpt")
    export.add_argument("folder")
    export.add_argument("--force", action="store_true", help="overwrite the files of a folder that is not empty")
    export.add_argument("--results", help="a test_results.json of `lightning test`: its metrics go on the card")
    card = commands.add_parser("card", help="draw an entry's card picture through load_pretrained(name).sample()")
    card.add_argument("name")
    card.add_argument("--out", help="the PNG to write (default: samples.png in the entry's weights folder)")
    card.add_argument("--seed", type=int, default=0)
    push = commands.add_parser("push", help="upload a weights folder to a Hugging Face Hub model repo")
    push.add_argument("folder")
    push.add_argument("repo_id", help="owner/name, created if missing")
    push.add_argument("--private", action="store_true")
    push.add_argument("--message", help="commit message")
    for name, (_, summary) in DELEGATED.items():
        commands.add_parser(name, help=summary, add_help=False)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return run_delegated(argv[0], argv[1:])
    args = parser.parse_args(argv)
    with one_line_errors(debug_requested(argv)):
        if args.command == "list":
            list_entries(args.pattern, args.pretrained)
        elif args.command == "recipes":
            for name in recipes.list_recipes():
                print(f"{name:36s} {recipes.resolve(name)}")
        elif args.command == "export":
            if not Path(args.ckpt).exists():  # said before torch loads, in a tenth of the time
                raise WeightsNotFoundError(f"checkpoint not found: {args.ckpt}")
            from zoo.hub import folders  # torch and the Hub client load only for the commands that use them
            from zoo.hub.publish import model_card

            weights = folders.export_checkpoint(args.ckpt, args.folder, force=args.force)
            results = json.loads(Path(args.results).read_text()) if args.results else None
            model_card(weights.parent, args.ckpt, results).save(weights.parent / folders.CARD)
            print(f"wrote {weights.parent}: {folders.WEIGHTS} (sha256 {folders.sha256_of(weights)}), {folders.CONFIG} "
                  f"and {folders.CARD}")
        elif args.command == "card":
            registry.get(args.name)  # an unknown name is said before torch loads
            from zoo.hub.cards import write_picture

            print(f"wrote {write_picture(args.name, args.out, args.seed)}")
        else:
            from zoo.hub.publish import push_folder

            revision = push_folder(args.folder, args.repo_id, private=args.private or None, message=args.message)
            print(f"pushed {args.folder} to {args.repo_id} at revision {revision}; pin it in zoo/hub/pretrained.json: "
                  f"\"repo_id\": \"{args.repo_id}\", \"revision\": \"{revision}\"")


def run_delegated(name: str, argv: list[str]) -> None:
    module = DELEGATED[name][0]
    with one_line_errors(debug_requested(argv)):
        if module == "zoo.hub.release" and not Path("checkpoints/entries.yaml").is_file() and "-h" not in argv \
                and "--help" not in argv:
            raise InputError(f"zoo release runs in a checkout's root: no checkpoints/entries.yaml here ({Path.cwd()})")
        importlib.import_module(module).main([arg for arg in argv if arg != "--debug"])


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
