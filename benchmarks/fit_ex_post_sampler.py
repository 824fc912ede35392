"""Fit an ex-post sampler (zoo.samplers: "gmm" or "two_stage") to an MNIST VAE weights folder's aggregate
posterior over the training images, and write the folder with the sampler in its weights and config.

    python benchmarks/fit_ex_post_sampler.py checkpoints/vae_mlp.mnist --kind gmm --root ../shared/data \
        [--out DIR] [--default] [--components 10] [--steps 10000]

The images are prepared as in training: binarised afresh for a Bernoulli likelihood, grey levels otherwise.
`--default` makes `sample(n)` (and so `lightning test`'s FID) draw from the fitted sampler. Re-export the
entry afterwards (its files' sha256 change).
"""

import argparse
import time
from pathlib import Path

import torch

from zoo import hub
from zoo.data import MNIST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--kind", choices=["gmm", "two_stage"], default="gmm")
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--out", default=None, help="weights folder to write (default: the input folder)")
    parser.add_argument("--default", action="store_true", help="make it the sampler sample() uses by default")
    parser.add_argument("--components", type=int, default=10, help="gmm: mixture components (full covariance)")
    parser.add_argument("--steps", type=int, default=10_000, help="two_stage: training steps of the second VAE")
    args = parser.parse_args()
    torch.manual_seed(0)
    vae = hub.load_folder(args.folder)
    bernoulli = "Bernoulli" in str(vae.hparams.likelihood)
    data = MNIST(root=args.root, download=False, binarize="dynamic" if bernoulli else "none", batch_size=1000)
    options = {"num_components": args.components} if args.kind == "gmm" else {"steps": args.steps}
    start = time.perf_counter()
    vae.fit_sampler(data, args.kind, **options)
    if args.default:
        vae.hparams.sampler = args.kind
    out = Path(args.out or args.folder)
    hub.save_folder(vae.eval(), out)
    print(f"fitted {args.kind} {options} in {time.perf_counter() - start:.1f} s; wrote {out}")


if __name__ == "__main__":
    main()
