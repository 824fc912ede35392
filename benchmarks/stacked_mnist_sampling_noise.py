"""How much of a Stacked-MNIST entry's figures is sampling noise, and whether its two digit classifiers disagree by
more than that: `load_pretrained(name).sample(26000)` (what a user draws) with several sampling seeds, each
channel read by the FID digit classifier and by the separately trained LeNet check classifier (PacGAN's protocol:
26,000 samples, KL(p || uniform) over the 1000 modes), with the share of channels the first one gives under 0.9.
Writes benchmarks/results/stacked_mnist_sampling_noise_<name>.json.

    OMP_NUM_THREADS=1 python benchmarks/stacked_mnist_sampling_noise.py dcgan.stacked_mnist [--seeds 0 1 2 3 4]
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

import zoo
from zoo.metrics.extractors import build_extractor, check_classifier
from zoo.metrics.stacked_modes import channel_probabilities, classifier_checks, kl_floor, mode_statistics

FIGURES = ("modes", "kl", "modes_check", "kl_check", "low_confidence", "agreement")


def figures(model, first, second, num_samples: int, seed: int, batch: int = 1000) -> dict[str, float]:
    torch.manual_seed(seed)
    probabilities, check_digits = [], []
    with torch.no_grad():
        for start in range(0, num_samples, batch):
            samples = model.sample(min(batch, num_samples - start))
            probabilities.append(channel_probabilities(samples, first))
            check_digits.append(channel_probabilities(samples, second).argmax(dim=2))
    probabilities, check_digits = torch.cat(probabilities), torch.cat(check_digits)
    found = mode_statistics(probabilities.argmax(dim=2))
    found.update({f"{k}_check": v for k, v in mode_statistics(check_digits).items()},
                 **classifier_checks(probabilities, check_digits))
    return {"seed": seed, **found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--num-samples", type=int, default=26_000)
    args = parser.parse_args()
    model = zoo.load_pretrained(args.name).eval()
    first, second = build_extractor("digit_classifier").eval(), check_classifier().eval()
    runs = []
    for seed in args.seeds:
        runs.append(figures(model, first, second, args.num_samples, seed))
        print(runs[-1], flush=True)
    summary = {k: {"mean": statistics.mean(r[k] for r in runs), "std": statistics.stdev(r[k] for r in runs)}
               for k in FIGURES}
    gap = summary["kl_check"]["mean"] - summary["kl"]["mean"]
    noise = max(summary["kl"]["std"], summary["kl_check"]["std"])
    report = {"command": "python " + " ".join(sys.argv), "entry": args.name, "num_samples": args.num_samples,
              "kl_floor": kl_floor(args.num_samples), "runs": runs, "summary": summary,
              "classifier_kl_gap": gap, "sampling_noise_kl_std": noise,
              "classifiers_disagree_beyond_noise": bool(abs(gap) > 3 * noise)}
    out = Path("benchmarks/results") / f"stacked_mnist_sampling_noise_{args.name}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=1))


if __name__ == "__main__":
    main()
