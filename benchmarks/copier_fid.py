"""What FID a generator scores by copying its training images: a recipe's training split (the fixed-seed subset its
`train_size` keeps), drawn uniformly with replacement as 10,000 "samples", against the 10,000 test digits
with the digit-classifier extractor, as `lightning test` scores a GAN (zoo.metrics.fid.ImageQuality). On a split
whose copier scores far below the GAN trained on it, memorising does not cost FID, so a discriminator that
memorises its split does not show as worse samples. Writes benchmarks/results/copier_fid.json.

    python benchmarks/copier_fid.py --root ../shared/data --recipes configs/gan/dcgan_mnist1.yaml \
        configs/gan/dcgan_mnist10.yaml
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from discriminator_gap import held_out_images, training_images

from zoo.metrics.extractors import DigitFeatures
from zoo.metrics.fid import ImageQuality

OUT = Path("benchmarks/results/copier_fid.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipes", type=Path, nargs="+",
                        default=[Path("configs/gan/dcgan_mnist1.yaml"), Path("configs/gan/dcgan_mnist10.yaml")])
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    report = json.loads(OUT.read_text()) if OUT.is_file() else {}
    real = held_out_images(args.root)
    for recipe in args.recipes:
        images = training_images(recipe, args.root)
        copies = images[torch.randint(len(images), (args.samples,), generator=torch.Generator().manual_seed(0))]
        quality = ImageQuality(DigitFeatures())
        for batch in real.split(500):
            quality.update(batch, real=True)
        for batch in copies.split(500):
            quality.update(batch, real=False)
        result = {"command": "python " + " ".join(sys.argv), "training_images": len(images),
                  "samples": args.samples, "real": f"MNIST test, {len(real)}",
                  **{name: round(float(value), 4) for name, value in quality.compute().items()}}
        report[f"train_size={len(images)}"] = result
        print(json.dumps(result), flush=True)
    OUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
