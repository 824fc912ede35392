"""FID against training iterations: `lightning test` (FID/KID/IS, precision/recall, density/coverage of the EMA
generator's samples, `_live` for the trained generator) of every checkpoint a run saved, written as JSON. For
twins trained side by side, the curves show whether one is only slower or worse at every length. With `--gap`, also
the discriminator's mean D(x) on the recipe's training images against held-out test digits at each checkpoint
(benchmarks/discriminator_gap.py): how far it has memorised its data, which DiffAugment exists to stop.

    OMP_NUM_THREADS=1 lightning fit --config configs/gan/dcgan_diffaugment_mnist1.yaml ... \
        --trainer.max_steps 28200 --trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint \
        --trainer.callbacks.every_n_epochs 141 --trainer.callbacks.save_top_k -1 --trainer.default_root_dir RUN
    python benchmarks/fid_curve.py configs/gan/dcgan_diffaugment_mnist1.yaml RUN --root ../shared/data
    (or keep a checkpoint every 25 epochs with --config benchmarks/overlays/fid_curve_every_25_epochs.yaml)

Writes benchmarks/results/fid_curve_<run name>.json.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import torch

from zoo import GANModule
from zoo.cli.lightning_cli import main as cli

sys.path.insert(0, str(Path(__file__).parent))
from discriminator_gap import held_out_images, mean_d, training_images  # noqa: E402

METRICS = ("test/fid", "test/fid_live", "test/precision", "test/recall", "test/density", "test/coverage")


def checkpoints(run: Path) -> list[tuple[int, Path]]:
    """(global step, path) of each `epoch=E-step=S.ckpt` the run saved, by step."""
    found = []
    for path in run.glob("lightning_logs/version_*/checkpoints/epoch=*-step=*.ckpt"):
        found.append((int(re.search(r"step=(\d+)", path.name).group(1)), path))
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe")
    parser.add_argument("run", type=Path)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--gap", action="store_true", help="also the discriminator's mean D on train and held out")
    parser.add_argument("--from-step", type=int, default=0, help="evaluate only the checkpoints from this step on, "
                        "keeping the earlier points of the run's existing report (a run trained on further)")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more `lightning test` arguments")
    args = parser.parse_args()
    out = Path(f"benchmarks/results/fid_curve_{args.run.name}.json")
    earlier = json.loads(out.read_text()) if args.from_step and out.is_file() else {"curve": []}
    points = [point for point in earlier["curve"] if point["step"] < args.from_step]
    if args.gap:
        train, held_out = training_images(Path(args.recipe), args.root), held_out_images(args.root)
    for step, path in checkpoints(args.run):
        if step < args.from_step:
            continue
        folder = Path("runs/zoo_eval") / f"curve_{args.run.name}_{step}"
        cli(["test", "--config", args.recipe, "--ckpt_path", str(path), "--trainer.logger", "false",
             "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(folder),
             "--data.root", args.root, "--data.download", "false", *args.extra])
        metrics = json.loads((folder / "test_results.json").read_text())["metrics"]
        points.append({"step": step, "checkpoint": str(path), **{k: metrics[k] for k in METRICS if k in metrics}})
        if args.gap:
            with torch.random.fork_rng():
                gan = GANModule.load_from_checkpoint(path, weights_only=True).eval()
                points[-1].update(mean_d_train=round(mean_d(gan, train), 4),
                                  mean_d_held_out=round(mean_d(gan, held_out[: len(train)]), 4))
        print(points[-1], flush=True)
    commands = [*earlier.get("commands", [earlier["command"]] if "command" in earlier else []),
                "python " + " ".join(sys.argv)]
    report = {"commands": commands, "recipe": args.recipe, "run": str(args.run),
              "steps": "both players' optimizer steps (a generator iteration is two)", "curve": points}
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
