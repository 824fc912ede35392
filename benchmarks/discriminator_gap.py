"""How much a GAN's discriminator has memorised its training images: its mean D(x) = sigmoid(logit) on the
training images it saw against held-out images of the same distribution (the MNIST test digits), in eval mode
and without augmentation. DiffAugment (Zhao et al. 2020) exists to close this gap when data is scarce. Writes
benchmarks/results/discriminator_gap.json (one object per entry).

    python benchmarks/discriminator_gap.py dcgan.mnist10 dcgan_diffaugment.mnist10 --root ../shared/data
"""

import argparse
import json
import sys
from pathlib import Path

import torch
import yaml

import zoo
from zoo.data import MNIST

OUTPUT = Path("benchmarks/results/discriminator_gap.json")


@torch.no_grad()
def mean_d(gan, images: torch.Tensor) -> float:
    return float(torch.cat([torch.sigmoid(gan.discriminate(batch)) for batch in images.split(500)]).mean())


def training_images(recipe: Path, root: str) -> torch.Tensor:
    """The training split the recipe's data module gives (its train_size subset, its seed), scaled as in training."""
    init = yaml.safe_load(recipe.read_text())["data"]["init_args"]
    data = MNIST(**{**init, "root": root, "download": False})
    data.setup("fit")
    return scaled(data, data.train_set)


def scaled(data: MNIST, subset) -> torch.Tensor:
    """A split's images as the module meets them: through the data module's on_after_batch_transfer."""
    images, labels = zip(*(subset[i] for i in range(len(subset))), strict=True)
    return data.on_after_batch_transfer((torch.stack(images), torch.as_tensor(labels)), 0)[0]


def shipped(name: str) -> tuple[torch.nn.Module, Path]:
    """A shipped GAN entry in eval mode, and the recipe it was trained with."""
    return zoo.load_pretrained(name).eval(), Path("configs") / zoo.hub.registry.get(name).recipe


def held_out_images(root: str) -> torch.Tensor:
    """The MNIST test digits, scaled as in training."""
    data = MNIST(root=root, download=False)
    data.setup("test")
    return scaled(data, data.test_set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entries", nargs="+")
    parser.add_argument("--root", default="../shared/data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {}
    test = held_out_images(args.root)
    for name in args.entries:
        gan, recipe = shipped(name)
        train = training_images(recipe, args.root)
        on_train, on_test = mean_d(gan, train), mean_d(gan, test[: len(train)])
        report[name] = {"command": "python " + " ".join(sys.argv), "training_images": len(train),
                        "held_out_images": min(len(train), len(test)), "mean_d_train": round(on_train, 4),
                        "mean_d_held_out": round(on_test, 4), "gap": round(on_train - on_test, 4)}
        print(name, report[name], flush=True)
    OUTPUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
