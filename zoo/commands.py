"""The `zoo` command: `zoo list [pattern] [--pretrained]`, `zoo recipes`, `zoo export <ckpt> <folder>`,
`zoo push <folder> <repo_id>`."""

import argparse
import json
from pathlib import Path

from zoo import hub, recipes, registry
from zoo.publish import model_card, push_folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zoo", description="the zoo's registry, recipes and weights folders")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="registered entries")
    listing.add_argument("pattern", nargs="?", default="*")
    listing.add_argument("--pretrained", action="store_true", help="only entries with published weights")
    commands.add_parser("recipes", help="the shipped recipes, as `lightning fit --config zoo:<name>` takes them")
    export = commands.add_parser("export", help="turn a Lightning .ckpt of a zoo module into a weights folder")
    export.add_argument("ckpt")
    export.add_argument("folder")
    export.add_argument("--results", help="a test_results.json of `lightning test`: its metrics go on the card")
    push = commands.add_parser("push", help="upload a weights folder to a Hugging Face Hub model repo")
    push.add_argument("folder")
    push.add_argument("repo_id", help="owner/name, created if missing")
    push.add_argument("--private", action="store_true")
    push.add_argument("--message", help="commit message")
    args = parser.parse_args(argv)
    if args.command == "list":
        for name in registry.list_models(args.pattern, pretrained=True if args.pretrained else None):
            entry = registry.get(name)
            print(f"{name:28s} {'weights' if entry.pretrained else '       '}  {entry.recipe or '':36s} "
                  f"{entry.description}")
    elif args.command == "recipes":
        for name in recipes.list_recipes():
            print(f"{name:36s} {recipes.resolve(name)}")
    elif args.command == "export":
        weights = hub.export_checkpoint(args.ckpt, args.folder)
        results = json.loads(Path(args.results).read_text()) if args.results else None
        model_card(weights.parent, args.ckpt, results).save(weights.parent / hub.CARD)
        print(f"wrote {weights.parent}: {hub.WEIGHTS} (sha256 {hub.sha256_of(weights)}), {hub.CONFIG} and "
              f"{hub.CARD}")
    else:
        revision = push_folder(args.folder, args.repo_id, private=args.private or None, message=args.message)
        print(f"pushed {args.folder} to {args.repo_id} at revision {revision}; pin it in zoo/pretrained.json: "
              f"\"repo_id\": \"{args.repo_id}\", \"revision\": \"{revision}\"")


if __name__ == "__main__":
    main()
