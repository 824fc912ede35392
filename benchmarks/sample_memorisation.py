"""Whether a GAN trained on a small split copies its training images: for 1,000 of its samples, the pixel
distance (L2, images in [0, 1]) to the nearest of its training images against the nearest of as many held-out test
digits; for reference, the same for 1,000 other held-out digits. A generator that copies sits much nearer its
training images than held-out digits do, and most of its samples are nearer a training image than any held-out one.
Writes benchmarks/results/sample_memorisation.json (one object per entry or checkpoint).

    python benchmarks/sample_memorisation.py dcgan.mnist1 dcgan_diffaugment.mnist1 --root ../shared/data
    python benchmarks/sample_memorisation.py RUN/checkpoints/last.ckpt --recipe configs/gan/dcgan_mnist1.yaml
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from discriminator_gap import held_out_images, shipped, training_images

from zoo import GANModule

OUTPUT = Path("benchmarks/results/sample_memorisation.json")
SAMPLES = 1000


def nearest(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    return torch.cdist(images.flatten(1), reference.flatten(1)).min(1).values


def distances(images: torch.Tensor, train: torch.Tensor, held_out: torch.Tensor) -> dict:
    to_train, to_held_out = nearest(images, train), nearest(images, held_out)
    return {"median_to_training": round(to_train.median().item(), 3),
            "median_to_held_out": round(to_held_out.median().item(), 3),
            "share_nearer_a_training_image": round((to_train < to_held_out).float().mean().item(), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="entry names or checkpoint paths")
    parser.add_argument("--recipe", help="the recipe of checkpoint paths (entries name their own)")
    parser.add_argument("--root", default="../shared/data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {}
    test = held_out_images(args.root)
    for model in args.models:
        if Path(model).is_file():
            gan, recipe = GANModule.load_from_checkpoint(model, map_location="cpu").eval(), Path(args.recipe)
        else:
            gan, recipe = shipped(model)
        train = training_images(recipe, args.root)
        held_out, reference = test[: len(train)], test[len(train): len(train) + SAMPLES]
        torch.manual_seed(0)
        with torch.no_grad():
            samples = gan.sample(SAMPLES)
        report[model] = {"command": "python " + " ".join(sys.argv), "recipe": str(recipe),
                         "training_images": len(train), "samples": distances(samples, train, held_out),
                         "held_out_digits": distances(reference, train, held_out)}
        print(model, report[model], flush=True)
    OUTPUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
