"""Train the MNIST digit classifier behind the domain FID/KID (`zoo.nets.classifier.DigitClassifier`), or the
second classifier that checks the Stacked-MNIST modes (`--architecture lenet`: `LeNetClassifier`, trained with
another seed and random shifts of up to 2 pixels).

Trains on the 60k MNIST training images (Adam, a few epochs), measures accuracy on the 10k test images,
and writes `<out>/model.safetensors` with a model card beside it.

    python benchmarks/train_digit_classifier.py --root ../shared/data [--epochs 4]
    python benchmarks/train_digit_classifier.py --root ../shared/data --architecture lenet --seed 1 --shift 2 \
        --out checkpoints/digit_classifier_lenet.mnist/model.safetensors
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from zoo.data import MNIST
from zoo.metrics.extractors import DIGIT_CLASSIFIER_WEIGHTS, sha256_of
from zoo.modules.augment import translate
from zoo.nets.classifier import DigitClassifier, LeNetClassifier

ARCHITECTURES = {"digit": DigitClassifier, "lenet": LeNetClassifier}


def batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool):
    order = torch.randperm(len(images)) if shuffle else torch.arange(len(images))
    for start in range(0, len(images), batch_size):
        index = order[start: start + batch_size]
        yield images[index].float() / 255, labels[index]


@torch.no_grad()
def accuracy(net: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    net.eval()
    correct = sum(int((net(x).argmax(1) == y).sum()) for x, y in batches(images, labels, 1000, False))
    return correct / len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(DIGIT_CLASSIFIER_WEIGHTS))
    parser.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="digit")
    parser.add_argument("--shift", type=int, default=0, help="random shifts of up to this many pixels in training")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    data = MNIST(root=args.root, val_size=0)
    data.setup("fit")
    train_images, train_labels = data.train_set.dataset.tensors
    test_images, test_labels = data.test_set.tensors
    net = ARCHITECTURES[args.architecture]()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, epochs=args.epochs,
                                                    steps_per_epoch=-(-len(train_images) // 128))
    start = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        for x, y in batches(train_images, train_labels, 128, True):
            if args.shift:
                x = translate(x, torch.randint(-args.shift, args.shift + 1, (len(x), 2)))
            loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        print(f"epoch {epoch + 1}: last loss {loss.item():.4f}, test accuracy "
              f"{accuracy(net, test_images, test_labels):.4f}", flush=True)
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(net, test_images, test_labels)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out),
              metadata={"test_accuracy": f"{test_accuracy:.4f}"})
    command = "python " + " ".join(sys.argv)
    role = ("the domain feature extractor for FID/KID on MNIST-family data\n(128 penultimate features; its 10 logits "
            "give the Inception-Score analogue)" if args.architecture == "digit" else
            "the second classifier, of another design, seed and augmentation, that checks\nthe Stacked-MNIST modes "
            "the first one counts")
    (out.parent / "README.md").write_text(
        f"# {out.parent.name}\n\n"
        f"`zoo.nets.classifier.{type(net).__name__}`: {role}.\n\n"
        f"- Trained on the 60,000 MNIST training images, {args.epochs} epochs of Adam (one-cycle, max lr 2e-3,\n"
        f"  batch 128, seed {args.seed}, random shifts of up to {args.shift} pixels), {seconds:.0f} s on CPU: "
        f"`{command}`\n"
        f"- **Test accuracy: {100 * test_accuracy:.2f} %** on the 10,000 MNIST test images.\n"
        f"- `model.safetensors` sha256: `{sha256_of(out)}`\n")
    print(f"test accuracy {test_accuracy:.4f} after {seconds:.0f} s; wrote {out}")


if __name__ == "__main__":
    main()
