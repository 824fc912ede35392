"""How much of a Stacked-MNIST entry's figures is sampling noise, and whether its two digit classifiers disagree by
more than that: `load_pretrained(name).sample(26000)` (what a user draws) with several sampling seeds, each
channel read, as `lightning test`'s StackedMNISTModes reads it, by the FID digit classifier and by the separately
trained LeNet check classifier (PacGAN's protocol: 26,000 samples, KL(p || uniform) over the 1000 modes), with the
share of channels the first one gives under 0.9.
Writes benchmarks/results/stacked_mnist_sampling_noise_<name>.json.

    OMP_NUM_THREADS=1 python benchmarks/stacked_mnist_sampling_noise.py dcgan.stacked_mnist [--seeds 0 1 2 3 4]
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import zoo
from zoo.callbacks.stacked_modes import StackedMNISTModes
from zoo.metrics.extractors import build_extractor, check_classifier
from zoo.metrics.stacked_modes import classifier_checks, kl_floor, mode_statistics

FIGURES = ("modes", "kl", "modes_check", "kl_check", "low_confidence", "agreement")


def figures(callback: StackedMNISTModes, model, num_samples: int, seed: int) -> dict[str, float]:
    """The card's figures from `num_samples` samples drawn as `lightning test` draws them, with sampling seed `seed`."""
    callback.seed = seed
    probabilities, check_digits = callback.classify_samples(model, num_samples, {})
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
    model = zoo.load_pretrained(args.name)
    callback = StackedMNISTModes(args.num_samples, batch_size=1000)
    callback.classifier, callback.check = build_extractor("digit_classifier"), check_classifier()
    runs = []
    for seed in args.seeds:
        runs.append(figures(callback, model, args.num_samples, seed))
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
