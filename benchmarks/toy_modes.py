"""PacGAN's 2-D mode-collapse benchmark (Lin et al. 2018, Table 1) for the toy recipes.

Trains `configs/gan/toy_ring.yaml` and `configs/gan/toy_grid.yaml` with several seeds, then measures the
final generator on 2500 samples: modes captured, share of high-quality samples (within 3 std of a mode)
and the reverse KL of the high-quality mode histogram against uniform. Prints the means beside PacGAN's.

    python benchmarks/toy_modes.py [--seeds 0 1 2] [--recipes ring grid] [-- --model.r1_gamma 0.1 ...]

Arguments after `--` go to `lightning fit` unchanged, to try a variant of the recipes.
"""

import argparse
import json
import statistics
import time

import torch

from zoo.cli import main as cli
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--recipes", nargs="+", default=["ring", "grid"])
    parser.add_argument("--folder", default="runs/benchmark_toy")
    args, overrides = parser.parse_known_args()
    overrides = [arg for arg in overrides if arg != "--"]
    results = [run(kind, seed, args.folder, overrides) for kind in args.recipes for seed in args.seeds]
    print(json.dumps(results, indent=1))
    print(f"\n| data | model | modes | high quality % | reverse KL | max train s |  (seeds {args.seeds})",
          " ".join(overrides))
    print("|---|---|---|---|---|---|")
    for kind in args.recipes:
        for name, (modes, hq, rkl) in PACGAN_TABLE_1[kind].items():
            print(f"| {kind} | {name} (PacGAN paper) | {modes} | {hq} | {rkl} | |")
        rows = [r for r in results if r["kind"] == kind]
        modes, hq, rkl = (statistics.mean(r[key] for r in rows) for key in ("modes", "high_quality", "reverse_kl"))
        print(f"| {kind} | zoo toy_{kind}.yaml | {modes:.2f} | {100 * hq:.1f} | {rkl:.3f} | "
              f"{max(r['train_seconds'] for r in rows):.0f} |")


if __name__ == "__main__":
    main()
