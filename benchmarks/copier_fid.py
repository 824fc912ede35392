"""What FID a generator scores by copying its training images: a small split's images (the fixed-seed subset a
recipe's `train_size` keeps), drawn uniformly with replacement as 10,000 "samples", against the 10,000 test digits
with the digit-classifier extractor, as `lightning test` scores a GAN (zoo.metrics.fid.ImageQuality). On a split
whose copier scores far below the GAN trained on it, memorising does not cost FID, so a discriminator that
memorises its split does not show as worse samples. Writes benchmarks/results/copier_fid.json.

    python benchmarks/copier_fid.py --root ../shared/data --train-sizes 600 6000
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from zoo.data import MNIST
from zoo.metrics.extractors import DigitFeatures
from zoo.metrics.fid import ImageQuality

OUT = Path("benchmarks/results/copier_fid.json")


def split_images(root: str, train_size: int) -> torch.Tensor:
    data = MNIST(root=root, download=False, train_size=train_size)
    data.setup("fit")
    data.trainer = type("Trainer", (), {"training": False})()
    images, labels = data.train_set.dataset.tensors
    index = torch.as_tensor(data.train_set.indices, dtype=torch.long)
    return data.on_after_batch_transfer((images[index], labels[index]), 0)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--train-sizes", type=int, nargs="+", default=[600, 6000])
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    report = json.loads(OUT.read_text()) if OUT.is_file() else {}
    test = MNIST(root=args.root, download=False)
    test.setup("test")
    test.trainer = type("Trainer", (), {"training": False})()
    real = torch.cat([test.on_after_batch_transfer(batch, 0)[0] for batch in test.test_dataloader()])
    for size in args.train_sizes:
        images = split_images(args.root, size)
        copies = images[torch.randint(len(images), (args.samples,), generator=torch.Generator().manual_seed(0))]
        quality = ImageQuality(DigitFeatures())
        for batch in real.split(500):
            quality.update(batch, real=True)
        for batch in copies.split(500):
            quality.update(batch, real=False)
        result = {"command": "python " + " ".join(sys.argv), "training_images": len(images),
                  "samples": args.samples, "real": f"MNIST test, {len(real)}",
                  **{name: round(float(value), 4) for name, value in quality.compute().items()}}
        report[f"train_size={size}"] = result
        print(json.dumps(result), flush=True)
    OUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
