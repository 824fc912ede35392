"""How many samples the EMA generator's batch-norm statistics need: the digit-classifier FID (10,000 samples against
the 10,000 MNIST test digits) of each entry's EMA generator with standing statistics from 512 samples (8 batches of
64, the zoo's old default) and from 8,192 (16 of 512, today's), beside its trained generator's (running statistics).
Writes benchmarks/results/ema_standing_statistics.json.

    python benchmarks/ema_standing_statistics.py --root ../shared/data [--entries r3gan.mnist ...] [--ckpt PATH ...]
"""

import argparse
import json
from pathlib import Path

import torch
from translation_sensitivity import against, digits, fid_of

import zoo
from zoo.metrics.extractors import DigitFeatures

OUTPUT = Path("benchmarks/results/ema_standing_statistics.json")
STATISTICS = {"ema_512_samples": (8, 64), "ema_8192_samples": (16, 512)}


def fids(model, quality) -> dict:
    def fid(**options) -> float:
        torch.manual_seed(0)
        return round(fid_of(quality, torch.cat([model.sample(1000, **options) for _ in range(10)])), 2)

    found = {"trained_generator": fid(ema=False)}
    for key, (batches, batch_size) in STATISTICS.items():
        model.recompute_ema_statistics(batches=batches, batch_size=batch_size)
        found[key] = fid()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--entries", nargs="*", default=["r3gan.mnist", "cgan.mnist", "nsgan_fc.mnist", "ragan.mnist",
                                                         "hinge_sn.mnist", "lsgan.mnist", "wgan_gp.mnist",
                                                         "dcgan.mnist", "infogan.mnist"])
    parser.add_argument("--ckpt", nargs="*", default=[], help="training checkpoints to measure as well")
    args = parser.parse_args()
    quality = against(digits(args.root, train=False, n=10_000), DigitFeatures())
    report = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {}
    report["protocol"] = ("digit-classifier FID of 10 x sample(1000) after torch.manual_seed(0) against the 10,000 "
                          "MNIST test digits; the EMA generator's batch-norm statistics recomputed from (batches x "
                          "batch size) samples: " + ", ".join(f"{k}: {b} x {s}" for k, (b, s) in STATISTICS.items()))
    models = [(name, lambda name=name: zoo.load_pretrained(name)) for name in args.entries]
    models += [(path, lambda path=path: zoo.GANModule.load_from_checkpoint(path, map_location="cpu").eval())
               for path in args.ckpt]
    for name, load in models:
        report[name] = fids(load(), quality)
        print(name, report[name], flush=True)
        OUTPUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
