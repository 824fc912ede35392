"""Seconds for FID/KID/IS with the domain extractor: 10k generated vs the 10k MNIST test images, on this CPU.

Runs `lightning test` on a GAN checkpoint twice with an empty real-statistics cache: the first run computes
and caches the real side, the second loads it. Times the SampleQuality callback: the real side, then the whole
evaluation (generating the samples, extracting their features, computing FID, KID and IS).

    python benchmarks/fid_speed.py --ckpt runs/.../last.ckpt [--config configs/gan/dcgan_mnist.yaml]
    python benchmarks/fid_speed.py --weights checkpoints/dcgan.mnist

Writes benchmarks/results/fid_speed.json.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from zoo.callbacks import SampleQuality
from zoo.cli.lightning_cli import main as cli

timings: dict[str, float] = {}


def timed(name: str, method):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        result = method(*args, **kwargs)
        timings[name] = time.perf_counter() - start
        return result

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ckpt", help="a Lightning checkpoint of the recipe")
    source.add_argument("--weights", help="zoo weights: a registry name or a weights folder")
    parser.add_argument("--output", default="benchmarks/results/fid_speed.json")
    parser.add_argument("--config", default="configs/gan/dcgan_mnist.yaml")
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--num-samples", type=int, default=10_000)
    args = parser.parse_args()
    SampleQuality.prepare = timed("real_side", SampleQuality.prepare)
    SampleQuality.evaluate = timed("evaluation", SampleQuality.evaluate)
    cache, runs = tempfile.mkdtemp(), []
    for attempt in ("cold cache", "warm cache"):
        model = ["--ckpt_path", args.ckpt] if args.ckpt else ["--weights", args.weights]
        if args.weights and Path(args.weights, "config.yaml").exists():  # the networks the weights were trained as
            model += ["--model", str(Path(args.weights, "config.yaml"))]
        test = cli(["test", "--config", args.config, *model, "--data.root", args.root,
                    "--data.download", "false", "--trainer.limit_test_batches", "1", "--trainer.logger", "false",
                    "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", tempfile.mkdtemp(),
                    "--trainer.callbacks.num_samples", str(args.num_samples), "--trainer.callbacks.cache_dir", cache])
        metrics = {k: round(float(v), 4) for k, v in test.trainer.callback_metrics.items() if "d_loss" not in k}
        runs.append({"run": attempt, "evaluation_seconds": round(timings["evaluation"], 2),
                     "real_side_seconds": round(timings["real_side"], 2), **metrics})
    callback = next(c for c in test.trainer.callbacks if isinstance(c, SampleQuality))
    report = {"command": "python " + " ".join(sys.argv), "torch_threads": torch.get_num_threads(),
              "protocol": callback.protocol, "runs": runs}
    print(json.dumps(report, indent=1))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
