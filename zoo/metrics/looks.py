"""Whether a digit model's samples look like its data, read by the shipped digit classifier.

On `num_samples` images of `module.sample(n)` drawn with a fixed seed (a conditional model is asked for balanced
labels; a Stacked-MNIST model's three channels are read as three digits):
- every class makes up at least MIN_CLASS_SHARE of the samples (a conditional model: instead, at least
  MIN_ACCURACY of them are read as the asked class);
- the classifier's mean top-class probability is at least MIN_CONFIDENCE (a confident digit, not a blob);
- the mean pixel ("ink") is within INK_TOLERANCE of real MNIST's.
"""

import torch

from zoo.metrics.extractors import DigitFeatures
from zoo.modules.inputs import balanced_labels

MNIST_INK = 0.1307  # the mean pixel of the 60,000 MNIST training images in [0, 1] (torchvision's MNIST mean)
MIN_CLASS_SHARE, MIN_ACCURACY, MIN_CONFIDENCE, INK_TOLERANCE = 0.04, 0.9, 0.8, 0.4
NUM_SAMPLES, SEED, BATCH = 2000, 0, 500


@torch.no_grad()
def measure_looks(module, num_samples: int = NUM_SAMPLES, seed: int = SEED, classifier=None) -> dict:
    """The figures the looks test judges: class shares, the rarest class, confidence, ink (and accuracy on the
    asked labels for a class-conditional model)."""
    classifier = (classifier or DigitFeatures()).to(module.device)
    num_classes = module.hparams.get("num_classes", 0)
    counts, confidence, ink, correct = torch.zeros(10), 0.0, 0.0, 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        asked = balanced_labels(num_samples, num_classes) if num_classes else None
        for start in range(0, num_samples, BATCH):
            labels = None if asked is None else asked[start: start + BATCH].to(module.device)
            images = module.sample(min(BATCH, num_samples - start), labels=labels)  # (n, C, H, W) in [0, 1]
            digits = images.reshape(-1, 1, *images.shape[-2:])  # each channel one digit (Stacked MNIST)
            probabilities = classifier(digits)[1].softmax(-1)
            top, read = probabilities.max(-1)
            counts += torch.bincount(read.cpu(), minlength=10).float()
            confidence += top.sum().item()
            ink += digits.mean((1, 2, 3)).sum().item()
            if labels is not None:
                correct += (read.cpu() == labels.cpu()).sum().item()
    total = counts.sum().item()
    shares = counts / total
    figures = {"num_samples": num_samples, "seed": seed, "class_shares": [round(v, 4) for v in shares.tolist()],
               "rarest_class": int(shares.argmin()), "rarest_share": round(shares.min().item(), 4),
               "confidence": round(confidence / total, 4), "ink": round(ink / total, 4),
               "ink_ratio": round(ink / total / MNIST_INK, 4)}
    if num_classes:
        figures["accuracy"] = round(correct / num_samples, 4)
    return figures


def looks_problems(figures: dict) -> dict[str, str]:
    """The criteria ("classes", "accuracy", "confidence", "ink") the figures fail, each with its measured value;
    empty when the samples look like MNIST."""
    problems = {}
    if "accuracy" in figures:
        if figures["accuracy"] < MIN_ACCURACY:
            problems["accuracy"] = f"accuracy on the asked labels {figures['accuracy']:.3f} < {MIN_ACCURACY}"
    elif figures["rarest_share"] < MIN_CLASS_SHARE:
        problems["classes"] = (f"digit {figures['rarest_class']} in {100 * figures['rarest_share']:.1f} % of samples "
                               f"< {100 * MIN_CLASS_SHARE:.0f} %")
    if figures["confidence"] < MIN_CONFIDENCE:
        problems["confidence"] = f"mean top-class probability {figures['confidence']:.3f} < {MIN_CONFIDENCE}"
    if abs(figures["ink_ratio"] - 1) > INK_TOLERANCE:
        problems["ink"] = f"mean ink {figures['ink']:.3f}, {figures['ink_ratio']:.2f} x MNIST's {MNIST_INK}"
    return problems
