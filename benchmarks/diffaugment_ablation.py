"""DiffAugment's policies one at a time on 1 % of MNIST: `lightning test` (FID/KID/IS of the EMA generator's
samples) and the discriminator's memorisation gap (benchmarks/discriminator_gap.py) of runs of
configs/gan/dcgan_diffaugment_mnist1.yaml trained with `--model.diffaugment <policy>` and the same seed and steps.
Writes benchmarks/results/diffaugment_ablation_mnist1.json (or --out).

    OMP_NUM_THREADS=1 lightning fit --config configs/gan/dcgan_diffaugment_mnist1.yaml --model.diffaugment translation \
        --data.root ../shared/data --data.download false --seed_everything 0 \
        --trainer.default_root_dir runs/ablation/dcgan_translation.mnist1
    python benchmarks/diffaugment_ablation.py translation=runs/ablation/dcgan_translation.mnist1 --root ../shared/data
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from discriminator_gap import held_out_images, mean_d, training_images

from zoo import GANModule
from zoo.cli.lightning_cli import main as cli
from zoo.hub.release import last_checkpoint

RECIPE = Path("configs/gan/dcgan_diffaugment_mnist1.yaml")
OUTPUT = Path("benchmarks/results/diffaugment_ablation_mnist1.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="policy=run folder")
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    report = json.loads(args.out.read_text()) if args.out.is_file() else {}
    train = training_images(RECIPE, args.root)
    test = held_out_images(args.root)[: len(train)]
    for item in args.runs:
        policy, _, run = item.partition("=")
        checkpoint = last_checkpoint(run)
        folder = Path("runs/zoo_eval") / f"ablation_{policy}"
        test_args = ["test", "--config", str(RECIPE), "--model.diffaugment", policy, "--ckpt_path", str(checkpoint),
                     "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
                     "--trainer.default_root_dir", str(folder), "--data.root", args.root, "--data.download", "false"]
        cli(test_args)
        metrics = json.loads((folder / "test_results.json").read_text())["metrics"]
        gan = GANModule.load_from_checkpoint(checkpoint, map_location="cpu").eval()
        torch.set_num_threads(1)
        on_train, on_test = mean_d(gan, train), mean_d(gan, test)
        report[policy] = {"command": "python " + " ".join(sys.argv), "checkpoint": str(checkpoint),
                          "test": "lightning " + " ".join(a for a in test_args if str(folder) not in a),
                          "fid": metrics["test/fid"], "fid_live": metrics.get("test/fid_live"),
                          "mean_d_train": round(on_train, 4), "mean_d_held_out": round(on_test, 4),
                          "gap": round(on_train - on_test, 4)}
        print(policy, report[policy], flush=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
