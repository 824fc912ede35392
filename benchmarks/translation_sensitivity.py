"""How much the zoo's digit-classifier FID charges for a digit off its centre: real MNIST training digits, each
moved by a whole number of pixels drawn uniformly from [-m, m] in both directions (zoo.modules.augment.translate, zeros
filling the border, as DiffAugment's translation does), scored against the real test digits. A generator that
draws real digits but places them as loosely as this pays this FID for placement alone. With --entries, each
entry's sample(n) is scored as drawn and with every image moved so that its ink's centre of mass lands on the
nearest pixel to the real digits' mean centre (what is left is the FID of the shapes). Writes
benchmarks/results/translation_sensitivity.json.

    python benchmarks/translation_sensitivity.py --root ../shared/data [--entries dcgan.mnist1 ...]
"""

import argparse
import json
from pathlib import Path

import torch
from torchvision.datasets import MNIST

import zoo
from zoo.metrics.extractors import DigitFeatures
from zoo.metrics.fid import ImageQuality
from zoo.modules.augment import translate

OUTPUT = Path("benchmarks/results/translation_sensitivity.json")


def digits(root: str, train: bool, n: int) -> torch.Tensor:
    return MNIST(root, train=train, download=False).data[:n].unsqueeze(1).float() / 255


def against(real: torch.Tensor, extractor: DigitFeatures) -> ImageQuality:
    """FID against `real`, whose features are computed once for every set scored against them."""
    quality = ImageQuality(extractor, kid=False, inception_score=False)
    for batch in real.split(1000):
        quality.update(batch, real=True)
    return quality


def fid_of(quality: ImageQuality, generated: torch.Tensor) -> float:
    quality.reset_generated()
    for batch in generated.split(1000):
        quality.update(batch, real=False)
    return quality.compute()["fid"]


def sample(name: str, n: int) -> torch.Tensor:
    """What a user draws: `load_pretrained(name).sample(n)`, after torch.manual_seed(0)."""
    torch.manual_seed(0)
    return zoo.load_pretrained(name).sample(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--num", type=int, default=10_000)
    parser.add_argument("--max-shifts", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    parser.add_argument("--entries", nargs="*", default=[])
    args = parser.parse_args()
    real, train = digits(args.root, False, args.num), digits(args.root, True, args.num)
    target = centroids(real).mean(0)
    extractor = DigitFeatures()
    as_drawn, as_centred = against(real, extractor), against(centred(real, target), extractor)
    rows, entries = [], []
    for name in ["real MNIST train", *args.entries]:
        images = train if name == "real MNIST train" else sample(name, args.num)
        row = {"entry": name, "fid": fid_of(as_drawn, images), "fid_centred": fid_of(as_centred,
                                                                                     centred(images, target)),
               "centroid_spread_px": float(centroid_spread(images))}
        entries.append(row)
        print(row, flush=True)
    for m in args.max_shifts:
        shifts = torch.randint(-m, m + 1, (len(train), 2), generator=torch.Generator().manual_seed(m))
        moved = translate(train, shifts)
        row = {"max_shift": m, "fid": fid_of(as_drawn, moved),
               "centroid_spread_px": float(centroid_spread(moved))}
        rows.append(row)
        print(row, flush=True)
    OUTPUT.write_text(json.dumps({"num": args.num, "real": "MNIST test", "moved": "MNIST train", "rows": rows,
                                  "entries": entries}, indent=1) + "\n")


def centroids(images: torch.Tensor) -> torch.Tensor:
    """Each image's ink centre of mass (row, column), in pixels."""
    ink = images.squeeze(1)
    mass = ink.sum((1, 2)).clamp_min(1e-8)
    grid = torch.arange(ink.shape[1], dtype=ink.dtype)
    return torch.stack([(ink.sum(2) * grid).sum(1) / mass, (ink.sum(1) * grid).sum(1) / mass], 1)


def centroid_spread(images: torch.Tensor) -> torch.Tensor:
    """The standard deviation of the ink's centre of mass, in pixels, averaged over the two axes."""
    return centroids(images).std(0).mean()


def centred(images: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Each image moved by whole pixels so that its centre of mass is as near `target` as they allow."""
    return translate(images, (target - centroids(images)).round().long())


if __name__ == "__main__":
    main()
