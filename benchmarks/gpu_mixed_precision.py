"""The GAN recipes under CUDA `16-mixed` (and `bf16-mixed`) on one GPU: do they train with finite losses?

Each recipe runs a few epochs on scikit-learn's digits (28x28, no download) with Lightning's GradScaler
path; the script reports the first and last epoch's losses, whether every logged loss stayed finite, the
GradScaler's final scale, and the FID/KID/IS of `lightning test` on the same weights.

    python benchmarks/gpu_mixed_precision.py [--precision 16-mixed] [--epochs 5] [--out results.json]
"""

import argparse
import json
import math
import time

import torch

from zoo import GANModule
from zoo.cli.lightning_cli import main as cli

RECIPES = ["gan_mlp_mnist", "dcgan_mnist", "wgan_gp_mnist", "hinge_sn_mnist", "cgan_mnist", "lsgan_mnist"]


def record_epochs(history: list[dict]) -> None:
    """Make GANModule append the previous epoch's logged means to `history` at each epoch start."""
    def on_train_epoch_start(module):
        if module.current_epoch > 0:  # the previous epoch's means are logged by now
            history.append({k: float(v) for k, v in module.trainer.callback_metrics.items() if k.endswith("_epoch")})

    GANModule.on_train_epoch_start = on_train_epoch_start


def run(recipe: str, precision: str, epochs: int) -> dict:
    common = ["--config", f"configs/gan/{recipe}.yaml", "--data", "zoo.data.Digits", "--wandb", "off",
              "--trainer.accelerator", "gpu", "--trainer.devices", "1", "--trainer.precision", precision,
              "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", f"/tmp/zoo_gpu/{recipe}"]
    history: list[dict] = []
    record_epochs(history)
    start = time.perf_counter()
    fit = cli(["fit", *common, "--trainer.max_epochs", str(epochs), "--seed_everything", "0"])
    seconds = time.perf_counter() - start
    history.append({k: float(v) for k, v in fit.trainer.callback_metrics.items() if k.endswith("_epoch")})
    scaler = getattr(fit.trainer.precision_plugin, "scaler", None)
    test = cli(["test", *common, "--ckpt_path", fit.trainer.checkpoint_callback.last_model_path,
                "--trainer.callbacks.num_samples", "2000"])
    metrics = {k: round(float(v), 4) for k, v in test.trainer.callback_metrics.items()}
    return {"recipe": recipe, "precision": precision, "fit_seconds": round(seconds, 1),
            "all_epoch_losses_finite": all(math.isfinite(v) for row in history for v in row.values()),
            "first_epoch": history[0], "last_epoch": history[-1],
            "grad_scaler_scale": float(scaler.get_scale()) if scaler is not None else None,
            "generator_iterations": int(fit.model.generator_iterations), "test": metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="16-mixed")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--recipes", nargs="+", default=RECIPES)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    report = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "runs": [run(recipe, args.precision, args.epochs) for recipe in args.recipes]}
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as file:
            file.write(text)


if __name__ == "__main__":
    main()
