"""Does InfoVAE's MMD term hold latent units back early in training? Trains the recipe configs/vae/infovae_mnist.yaml
from scratch for a few epochs with each MMD weight given (0: the plain VAE of vae_mlp.mnist, the same work), at each
seed, and reports how many nats each latent dimension carries (the batch-mean KL(q(z_j|x) || p(z_j)) on 2,000 test
digits), the dimensions above 0.1 nats and the total. Writes benchmarks/results/infovae_early_units.json.

    python benchmarks/infovae_early_units.py vae=0 infovae=999 infovae_warmup=999:8600 --root ../shared/data

A setting is name=lambda or name=lambda:warmup_steps (the MMD's weight rising linearly over that many steps).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

import zoo
from zoo.data import MNIST

OUTPUT = Path("benchmarks/results/infovae_early_units.json")
CONFIG = "configs/vae/infovae_mnist.yaml"


def train(weight: str, warmup: str, seed: int, epochs: int, root: str, folder: str) -> str:
    command = ["lightning", "fit", "--config", CONFIG, "--data.root", root, "--data.download", "false",
               "--seed_everything", str(seed), "--model.objective.mmd_weight", weight,
               "--model.objective.mmd_warmup_steps", warmup, "--trainer.max_epochs", str(epochs),
               "--trainer.max_time", "null", "--model.compile", "false", "--trainer.logger", "false",
               "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", folder]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    return f"{folder}/checkpoints/last.ckpt"


@torch.no_grad()
def nats_per_dimension(checkpoint: str, x: torch.Tensor) -> list[float]:
    model = zoo.VAEModule.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    posterior = model.encode(x)  # an Independent Normal: its base is one Normal per dimension
    return torch.distributions.kl_divergence(posterior.base_dist, model.prior.base_dist).mean(0).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("settings", nargs="+", help="name=lambda or name=lambda:warmup_steps")
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = MNIST(root=args.root, download=False, binarize="dynamic")
    data.setup("test")
    x = torch.cat([data.on_after_batch_transfer(batch, 0)[0] for batch in data.test_dataloader()])[:2000]  # as tested
    report = {"command": "python " + " ".join(sys.argv), "config": CONFIG, "epochs": args.epochs,
              "test_digits": len(x), "runs": {}}
    for seed in args.seeds:  # the settings alternate within each seed
        for setting in args.settings:
            name, value = setting.split("=")
            weight, warmup = (value.split(":") + ["0"])[:2]
            with tempfile.TemporaryDirectory() as folder:
                nats = nats_per_dimension(train(weight, warmup, seed, args.epochs, args.root, folder), x)
            row = {"seed": seed, "mmd_weight": float(weight), "mmd_warmup_steps": int(warmup),
                   "kl_total": sum(nats), "dimensions_above_0.1_nats": sum(n > 0.1 for n in nats),
                   "kl_per_dimension_sorted": sorted((round(n, 4) for n in nats), reverse=True)}
            report["runs"].setdefault(name, []).append(row)
            print(name, {k: v for k, v in row.items() if k != "kl_per_dimension_sorted"}, flush=True)
            OUTPUT.write_text(json.dumps(report, indent=1) + "\n")
    for name, rows in report["runs"].items():
        report.setdefault("mean", {})[name] = {
            "kl_total": sum(r["kl_total"] for r in rows) / len(rows),
            "dimensions_above_0.1_nats": sum(r["dimensions_above_0.1_nats"] for r in rows) / len(rows)}
    print(json.dumps(report["mean"], indent=1))
    OUTPUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
