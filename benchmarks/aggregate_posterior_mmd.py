"""How far a VAE's aggregate posterior q(z) is from its prior N(0, I), as the two MMD kernels see it
(zoo.distributions.mmd): MMD^2
between z ~ q(z|x) on MNIST training digits and as many draws of p(z), in batches as the training step forms
them, beside MMD^2 between two sets of p(z) draws (what sampling noise alone gives). InfoVAE's term can only move
what its kernel sees. Writes benchmarks/results/aggregate_posterior_mmd.json.

    python benchmarks/aggregate_posterior_mmd.py infovae.mnist vae_mlp.mnist --root ../shared/data
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from torchvision import datasets

import zoo
from zoo.distributions.mmd import mmd_squared

OUTPUT = Path("benchmarks/results/aggregate_posterior_mmd.json")


def batched_mmd(x: torch.Tensor, y: torch.Tensor, batch: int, kernel: str) -> list[float]:
    """MMD^2 of each pair of batches of x and y."""
    return [float(mmd_squared(a, b, 1.0, kernel)) for a, b in zip(x.split(batch), y.split(batch), strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entries", nargs="+")
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    count = args.batch * args.batches
    digits = datasets.MNIST(args.root, train=True, download=False).data[:count, None].float() / 255
    report = {"command": "python " + " ".join(sys.argv), "images": f"the first {count} MNIST training digits",
              "batch": args.batch, "entries": {}}
    for name in args.entries:
        model = zoo.load_pretrained(name).eval()
        generator = torch.Generator().manual_seed(0)
        images = torch.bernoulli(digits, generator=generator)  # the entries' dynamically binarised input
        torch.manual_seed(0)  # z ~ q(z|x) draws from the global generator: the same draws on every run
        with torch.no_grad():
            z = model.encode(images).sample()
        prior = [torch.randn(count, z.shape[1], generator=generator) for _ in range(2)]
        row = {}
        for kernel in ("rbf", "imq"):
            q_vs_p, p_vs_p = (batched_mmd(x, prior[0], args.batch, kernel) for x in (z, prior[1]))
            row[kernel] = {"q_vs_p_mean": sum(q_vs_p) / len(q_vs_p), "p_vs_p_mean": sum(p_vs_p) / len(p_vs_p),
                           "p_vs_p_max": max(p_vs_p), "q_vs_p": q_vs_p}
        report["entries"][name] = row
        print(name, {k: {a: f"{b:.2e}" for a, b in v.items() if a != "q_vs_p"} for k, v in row.items()}, flush=True)
    OUTPUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
