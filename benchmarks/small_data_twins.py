"""InfoVAE's small-data effect (Zhao et al. 2019): a VAE and its InfoVAE twin (the same recipe plus the MMD term)
trained on few digits, compared on what the paper measures. For each trained run:

- log det Cov q(z): the aggregate posterior's covariance (z ~ q(z|x) over the digits) against the prior's, 0 for
  N(0, I); the paper's figure has the ELBO's far above 0 on small training sets and InfoVAE's near 0;
- MMD^2(q(z), p(z)) under the InfoVAE authors' kernel, in batches of 500, beside two prior draws' (the noise);
- the one-sample ELBO on the training digits and on the 10,000 test digits (the over-fitting gap);
- the digit-classifier FID of 10,000 prior samples (sample(n, sampler="prior")) against the test digits.

Writes benchmarks/results/small_data_twins.json.

    python benchmarks/small_data_twins.py vae=runs/zoo/vae_mlp.mnist1k infovae=runs/zoo/infovae.mnist1k \
        --train-size 1000 --root ../shared/data
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.utils.data import Subset
from translation_sensitivity import against, digits, fid_of

from zoo import VAEModule
from zoo.data import MNIST
from zoo.distributions.mmd import mmd_squared
from zoo.metrics.extractors import DigitFeatures

OUTPUT = Path("benchmarks/results/small_data_twins.json")


def training_digits(root: str, train_size: int) -> torch.Tensor:
    """The recipes' `train_size` subset, as zoo.data.MNIST draws it (default seed and validation split)."""
    data = MNIST(root=root, download=False, train_size=train_size)
    data.setup("fit")
    subset = data.train_set
    assert isinstance(subset, Subset)
    return subset.dataset.tensors[0][subset.indices].float() / 255  # uint8 (N, 1, 28, 28) -> [0, 1]


def elbo(model: VAEModule, images: torch.Tensor) -> float:
    x = torch.bernoulli(images, generator=torch.Generator().manual_seed(1))
    q = model.encode(x)
    z = q.rsample()
    kl = torch.distributions.kl_divergence(q, model.prior).mean()
    return float(model.decode(z).log_prob(x).mean() - kl)


def spread(model: VAEModule, images: torch.Tensor) -> dict:
    z = model.encode(torch.bernoulli(images, generator=torch.Generator().manual_seed(2))).sample()
    prior = torch.randn(2, *z.shape, generator=torch.Generator().manual_seed(3))
    batches = list(zip(z.split(500), prior[0].split(500), prior[1].split(500), strict=True))[:8]
    return {"log_det_cov": float(torch.linalg.slogdet(torch.cov(z.T))[1]),
            "mmd_rbf_q_vs_p": sum(float(mmd_squared(a, b, kernel="rbf")) for a, b, _ in batches) / len(batches),
            "mmd_rbf_p_vs_p": sum(float(mmd_squared(c, b, kernel="rbf")) for _, b, c in batches) / len(batches)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="name=run folder (its lightning_logs/version_*/checkpoints/last.ckpt)")
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--root", default="../shared/data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    test = digits(args.root, train=False, n=10_000)
    train = training_digits(args.root, args.train_size)
    quality = against(test, DigitFeatures())
    report = {"command": "python " + " ".join(sys.argv), "train_size": args.train_size, "runs": {}}
    for name, run in (item.split("=", 1) for item in args.runs):
        checkpoint = sorted(Path(run).glob("lightning_logs/version_*/checkpoints/last.ckpt"))[-1]
        model = VAEModule.load_from_checkpoint(checkpoint, map_location="cpu", weights_only=True).eval()
        with torch.no_grad():
            torch.manual_seed(0)
            row = {"checkpoint": str(checkpoint), "elbo_train": elbo(model, train), "elbo_test": elbo(model, test),
                   "test": spread(model, test), "train": spread(model, train)}
            torch.manual_seed(0)
            row["prior_fid"] = fid_of(quality, model.sample(10_000, sampler="prior"))
        report["runs"][name] = row
        print(name, json.dumps(row), flush=True)
    OUTPUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
