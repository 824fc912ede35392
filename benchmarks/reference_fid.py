"""For scale: FID, KID and IS of real MNIST images with the digit-classifier extractor, the first 10,000
training images in the place of generated ones against the 10,000 test images (zoo.metrics.fid.ImageQuality,
as `lightning test` computes them). Writes benchmarks/results/reference_fid_mnist.json.

    python benchmarks/reference_fid.py --root ../shared/data
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from torchvision import datasets

from zoo.metrics.extractors import DigitFeatures
from zoo.metrics.fid import ImageQuality


def images(root: str, train: bool, count: int) -> torch.Tensor:
    data = datasets.MNIST(root, train=train, download=False)
    return data.data[:count, None].float() / 255  # (N, 1, 28, 28) in [0, 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--output", default="benchmarks/results/reference_fid_mnist.json")
    args = parser.parse_args()
    quality = ImageQuality(DigitFeatures())
    for train, real in ((False, True), (True, False)):  # the test split is the real side, as in `lightning test`
        for batch in images(args.root, train, args.count).split(500):
            quality.update(batch, real=real)
    report = {"command": "python " + " ".join(sys.argv), "real": f"MNIST test, first {args.count}",
              "generated": f"MNIST train, first {args.count}", "extractor": quality.extractor.protocol,
              **{name: round(value, 4) for name, value in quality.compute().items()}}
    print(json.dumps(report, indent=1))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
