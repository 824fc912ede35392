"""Where a VAE's or WAE's sample FID goes: the digit-classifier FID (against the 10,000 MNIST test digits) of the
decoded reconstructions of 10,000 training digits, beside that of 10,000 prior samples (`sample(n,
sampler="prior")`, z ~ N(0, I)). The first is what the decoder can draw from codes it was trained on; the rest of
the second is what falls between the codes' distribution and N(0, I). Writes benchmarks/results/prior_gap.json.

    python benchmarks/prior_gap.py --root ../shared/data [--entries wae_mmd.mnist vae_mlp.mnist ...]
"""

import argparse
import json
from pathlib import Path

import torch
from translation_sensitivity import against, digits, fid_of

import zoo
from zoo.metrics.extractors import DigitFeatures

OUTPUT = Path("benchmarks/results/prior_gap.json")


def gap(name: str, quality, train: torch.Tensor, n: int) -> dict:
    model = zoo.load_pretrained(name)
    torch.manual_seed(0)
    with torch.no_grad():
        reconstructions = torch.cat([model.reconstruct(batch) for batch in train.split(1000)])
        prior = model.sample(n, sampler="prior")
    return {"reconstruction_fid": fid_of(quality, reconstructions), "prior_fid": fid_of(quality, prior)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--entries", nargs="+", default=["vae_mlp.mnist", "wae_mmd.mnist", "vae_gaussian8.mnist",
                                                         "infovae.mnist", "infovae_gaussian8.mnist"])
    parser.add_argument("-n", type=int, default=10_000)
    args = parser.parse_args()
    quality = against(digits(args.root, train=False, n=10_000), DigitFeatures())
    train = digits(args.root, train=True, n=args.n)
    report = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {}
    report["protocol"] = (f"digit-classifier FID against the 10,000 MNIST test digits; reconstructions: the decoded "
                          f"means of the first {args.n} training digits' posterior means; prior: sample({args.n}, "
                          f"sampler='prior') after torch.manual_seed(0)")
    for name in args.entries:
        report[name] = {key: round(value, 2) for key, value in gap(name, quality, train, args.n).items()}
        print(name, report[name], flush=True)
        OUTPUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
