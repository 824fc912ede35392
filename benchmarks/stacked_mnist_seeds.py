"""Stacked MNIST over several training seeds (VEEGAN / PacGAN's protocol, Lin et al. 2018, Table 2): `lightning test`
of `configs/gan/dcgan_stacked_mnist.yaml` on each seed's trained generator, 26,000 samples each (test/modes and
test/kl = KL(p_gen || uniform) over the 1000 modes; `_live` for the trained generator, the plain names for the EMA
one), then the mean and standard deviation over seeds beside PacGAN's.

    python benchmarks/stacked_mnist_seeds.py --root ../shared/data \
        --run 0 checkpoints/dcgan.stacked_mnist \
        --run 1 runs/zoo/dcgan.stacked_mnist.seed1/lightning_logs/version_0/checkpoints/last.ckpt ...

A run is a training seed and either a weights folder (`--weights`) or a Lightning checkpoint (`.ckpt`); each one
must come from the recipe trained with that `--seed_everything`, within the same budget. The report goes to
benchmarks/results/stacked_mnist_seeds.json.
"""

import argparse
import json
import statistics
from pathlib import Path

from zoo.cli.lightning_cli import main as cli

RECIPE = "configs/gan/dcgan_stacked_mnist.yaml"
PACGAN_TABLE_2 = {  # modes, KL(p_gen || uniform): means over their trials
    "DCGAN": (99.0, 3.40), "VEEGAN": (150.0, 2.95), "PacDCGAN2": (1000.0, 0.06)}
METRICS = ("test/modes", "test/kl", "test/modes_live", "test/kl_live")


def evaluate(seed: int, source: str, root: str) -> dict:
    folder = Path("runs/stacked_mnist_seeds") / f"seed{seed}"
    given = ["--ckpt_path", source] if source.endswith(".ckpt") else ["--weights", source]
    command = ["test", "--config", RECIPE, *given, "--trainer.logger", "false", "--trainer.enable_progress_bar",
               "false", "--data.root", root, "--data.download", "false"]
    cli([*command, "--trainer.default_root_dir", str(folder)])
    report = json.loads((folder / "test_results.json").read_text())
    return {"seed": seed, "source": source, "command": "lightning " + " ".join(command),
            **{name: report["metrics"][name] for name in METRICS}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--run", nargs=2, action="append", metavar=("SEED", "WEIGHTS_OR_CKPT"), required=True)
    parser.add_argument("--budget", default="", help="the training budget of each run, for the report")
    args = parser.parse_args()
    runs = [evaluate(int(seed), source, args.root) for seed, source in args.run]
    summary = {}
    for name in METRICS:
        values = [run[name] for run in runs]
        summary[name] = {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}
    report = {"recipe": RECIPE, "budget": args.budget, "num_samples": 26_000, "runs": runs, "summary": summary,
              "paper": {"source": "Lin et al. 2018 (PacGAN), Table 2", "modes_kl": PACGAN_TABLE_2}}
    target = Path("benchmarks/results/stacked_mnist_seeds.json")
    target.write_text(json.dumps(report, indent=1) + "\n")
    for name, stats in summary.items():
        print(f"{name}: {stats['mean']:.3f} +- {stats['std']:.3f} over seeds {[run['seed'] for run in runs]}")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
