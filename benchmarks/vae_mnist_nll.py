"""Train the MLP VAE recipe on dynamically binarised MNIST for a fixed CPU budget, then report the
importance-sampled NLL (k=5000) on the 10,000 test images. With `--weights` (a zoo weights folder, such as
the shipped checkpoints/iwae_mlp.mnist that the 15-minute run produced) it only evaluates those weights;
`--test-batches` evaluates the first batches of 128 test images only. Writes benchmarks/results/vae_mnist_nll.json.

    python benchmarks/vae_mnist_nll.py --root ../shared/data [--minutes 15] [--k 5000]
    python benchmarks/vae_mnist_nll.py --root ../shared/data --weights checkpoints/iwae_mlp.mnist [--test-batches 4]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from zoo.cli.lightning_cli import main as cli

RECIPE = "configs/vae/mlp_mnist.yaml"


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--run-dir", default="runs/benchmark_vae_mnist")
    parser.add_argument("--weights", default=None, help="evaluate these zoo weights instead of training")
    parser.add_argument("--test-batches", type=int, default=None, help="only the first batches of 128 test images")
    parser.add_argument("--output", default="benchmarks/results/vae_mnist_nll.json")
    args = parser.parse_args()
    common = ["--config", RECIPE, "--data.root", args.root, "--data.download", "false",
              "--trainer.default_root_dir", args.run_dir]
    report = {"command": "python " + " ".join(sys.argv), "recipe": RECIPE, "torch_threads": torch.get_num_threads()}
    if args.weights:
        source = ["--weights", args.weights]
    else:
        minutes = int(args.minutes)
        seconds = round((args.minutes - minutes) * 60)
        start = time.perf_counter()
        fit = cli(["fit", *common, f"--trainer.max_time=00:00:{minutes:02d}:{seconds:02d}", "--seed_everything", "0"])
        report.update(train_seconds=round(time.perf_counter() - start, 1), epochs=fit.trainer.current_epoch,
                      steps=fit.trainer.global_step)
        source = ["--ckpt_path", fit.trainer.checkpoint_callback.last_model_path]
    limit = ["--trainer.limit_test_batches", str(args.test_batches)] if args.test_batches else []
    start = time.perf_counter()
    test = cli(["test", *common, *source, *limit, "--model.test_nll.num_samples", str(args.k),
                "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"])
    report.update(evaluated=source[1], test_images=len(test.datamodule.test_set) if not args.test_batches
                  else min(len(test.datamodule.test_set), 128 * args.test_batches),
                  test_seconds=round(time.perf_counter() - start, 1), k=args.k,
                  **{k: float(v) for k, v in test.trainer.callback_metrics.items()})
    print(json.dumps(report, indent=2))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    run()
