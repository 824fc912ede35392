"""What the fit's progress bar and loggers cost per step: `lightning fit` of a recipe as a user runs it (the
machine's default threads), with and without the progress bar and the loggers (W&B offline and TensorBoard),
milliseconds per step from the difference of a long and a short fit (train_speed.time_cli, so start-up and
compilation cancel). The variants' order reverses in the second round. JSON goes to
benchmarks/results/fit_overheads.json.

    python benchmarks/fit_overheads.py --root ../shared/data [--recipe vae/mlp_mnist_elbo]
"""

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch
import train_speed

VARIANTS = {"default": (), "no_progress_bar": ("--trainer.enable_progress_bar", "false"),
            "no_logger": ("--trainer.logger", "false"),
            "neither": ("--trainer.logger", "false", "--trainer.enable_progress_bar", "false")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipe", default="vae/mlp_mnist_elbo")
    parser.add_argument("--short", type=int, default=200)
    parser.add_argument("--long", type=int, default=1100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/fit_overheads.json")
    args = parser.parse_args()
    ms = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as run_dir:
        train_speed.time_cli(args.recipe, args.root, args.long, run_dir)  # untimed: every graph into the compile cache
        for r in range(args.rounds):
            for name, extra in list(VARIANTS.items())[:: 1 if r % 2 == 0 else -1]:
                seconds = (train_speed.time_cli(args.recipe, args.root, args.long, run_dir, extra) -
                           train_speed.time_cli(args.recipe, args.root, args.short, run_dir, extra))
                ms[name].append(round(1000 * seconds / (args.long - args.short), 2))
                print(name, ms[name], flush=True)
    report = {"recipe": args.recipe, "threads": torch.get_num_threads(), "steps": [args.short, args.long],
              "rounds": args.rounds, "torch": torch.__version__, "arguments": {k: list(v) for k, v in VARIANTS.items()},
              **{f"{name}_ms_per_step": round(statistics.median(v), 2) for name, v in ms.items()},
              **{f"{name}_ms": v for name, v in ms.items()}}
    print(json.dumps(report))
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
