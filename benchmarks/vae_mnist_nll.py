"""Train the MLP VAE recipe on dynamically binarised MNIST for a fixed CPU budget, then report the
importance-sampled NLL (k=5000) on the 10,000 test images.

    python benchmarks/vae_mnist_nll.py --root ../shared/data [--minutes 15] [--k 5000]
"""

import argparse
import json
import time
from pathlib import Path

import torch

from zoo.cli import main as cli

RECIPE = "configs/vae/mlp_mnist.yaml"


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--run-dir", default="runs/benchmark_vae_mnist")
    args = parser.parse_args()
    common = ["--config", RECIPE, "--data.root", args.root, "--trainer.default_root_dir", args.run_dir]
    minutes = int(args.minutes)
    seconds = round((args.minutes - minutes) * 60)
    fit_args = ["fit", *common, f"--trainer.max_time=00:00:{minutes:02d}:{seconds:02d}", "--seed_everything", "0"]
    start = time.perf_counter()
    fit = cli(fit_args)
    train_seconds = time.perf_counter() - start
    checkpoint = fit.trainer.checkpoint_callback.last_model_path
    start = time.perf_counter()
    test = cli(["test", *common, "--ckpt_path", checkpoint, "--model.test_num_samples", str(args.k),
                            "--trainer.logger", "false"])
    results = {k: float(v) for k, v in test.trainer.callback_metrics.items()}
    report = {
        "recipe": RECIPE,
        "torch_threads": torch.get_num_threads(),
        "train_seconds": round(train_seconds, 1),
        "epochs": fit.trainer.current_epoch,
        "steps": fit.trainer.global_step,
        "test_seconds": round(time.perf_counter() - start, 1),
        "k": args.k,
        "checkpoint": checkpoint,
        **results,
    }
    print(json.dumps(report, indent=2))
    Path(args.run_dir, "nll_report.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    run()
