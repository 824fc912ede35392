"""PacGAN's 2-D mode-collapse benchmark (Lin et al. 2018, Table 1) for the toy recipes.

Trains `configs/gan/toy_ring.yaml` and `configs/gan/toy_grid.yaml` with several seeds, then measures the
final generator on 2500 samples: modes captured, share of high-quality samples (within 3 std of a mode)
and the reverse KL of the high-quality mode histogram against uniform. Prints the means beside PacGAN's.

    python benchmarks/toy_modes.py [--seeds 0 1 2] [--recipes ring grid] [-- --model.objective.r1_gamma 0.1 ...]

Arguments after `--` go to `lightning fit` unchanged, to try a variant of the recipes.

The runs are merged into benchmarks/results/toy_modes.json (a run replaces the earlier one of the same recipe and
seed, so the recipes can run as separate commands), with the per-recipe means and PacGAN's figures beside them;
`--summarise-only` recomputes those from the runs already in the file, without training.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from zoo.cli.lightning_cli import main as cli
from zoo.metrics.toy import mode_statistics

PACGAN_TABLE_1 = {  # 10 trials each: modes, high-quality %, reverse KL
    "ring": {"GAN": (6.3, 98.2, 0.45), "PacGAN4": (7.8, 95.9, 0.07)},
    "grid": {"GAN": (17.3, 94.8, 0.70), "PacGAN4": (24.8, 93.6, 0.04)},
}


def run(kind: str, seed: int, folder: str, overrides: list[str]) -> dict:
    start = time.perf_counter()
    fit = cli(["fit", "--config", f"configs/gan/toy_{kind}.yaml", "--seed_everything", str(seed),
               "--trainer.default_root_dir", f"{folder}/{kind}_seed{seed}", "--trainer.enable_progress_bar", "false",
               *overrides])
    seconds = time.perf_counter() - start
    torch.manual_seed(10_000 + seed)
    samples = fit.model.eval().sample(2500).cpu()
    stats = mode_statistics(samples, fit.datamodule.means, fit.datamodule.std)
    return {"kind": kind, "seed": seed, "train_seconds": round(seconds, 1),
            "generator_iterations": int(fit.model.generator_iterations), **stats}


def summary(runs: list[dict]) -> dict:
    """Per recipe: the means over seeds (high quality in %) and the longest training, as the README reports them."""
    out = {}
    for kind in sorted({r["kind"] for r in runs}):
        rows = [r for r in runs if r["kind"] == kind]
        out[kind] = {"seeds": [r["seed"] for r in rows],
                     **{f"mean_{key}": statistics.mean(r[key] for r in rows) for key in ("modes", "reverse_kl")},
                     "mean_high_quality_percent": 100 * statistics.mean(r["high_quality"] for r in rows),
                     "max_train_seconds": max(r["train_seconds"] for r in rows)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--recipes", nargs="+", default=["ring", "grid"])
    parser.add_argument("--folder", default="runs/benchmark_toy")
    parser.add_argument("--output", default="benchmarks/results/toy_modes.json")
    parser.add_argument("--summarise-only", action="store_true", help="no training: recompute the file's summary")
    args, overrides = parser.parse_known_args()
    overrides = [arg for arg in overrides if arg != "--"]
    path = Path(args.output)
    report = json.loads(path.read_text()) if path.exists() else {"commands": [], "runs": []}
    if not args.summarise_only:
        results = [run(kind, seed, args.folder, overrides) for kind in args.recipes for seed in args.seeds]
        print(json.dumps(results, indent=1))
        fresh = {(r["kind"], r["seed"]) for r in results}
        report["runs"] = [r for r in report["runs"] if (r["kind"], r["seed"]) not in fresh] + results
        report["commands"] = [*report["commands"], "python " + " ".join(sys.argv)]
    report["summary"] = summary(report["runs"])
    report["pacgan_table_1"] = {kind: {name: dict(zip(("modes", "high_quality_percent", "reverse_kl"), row,
                                                      strict=True))
                                       for name, row in table.items()} for kind, table in PACGAN_TABLE_1.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n| data | model | modes | high quality % | reverse KL | max train s |  (seeds {args.seeds})",
          " ".join(overrides))
    print("|---|---|---|---|---|---|")
    for kind, means in report["summary"].items():
        for name, (modes, hq, rkl) in PACGAN_TABLE_1[kind].items():
            print(f"| {kind} | {name} (PacGAN paper) | {modes} | {hq} | {rkl} | |")
        print(f"| {kind} | zoo toy_{kind}.yaml | {means['mean_modes']:.2f} | {means['mean_high_quality_percent']:.1f} "
              f"| {means['mean_reverse_kl']:.3f} | {means['max_train_seconds']:.0f} |")


if __name__ == "__main__":
    main()
