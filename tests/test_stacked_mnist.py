"""Stacked MNIST: stacks built from (fake) MNIST files, the mode metric against scipy and hand-built histograms,
the classifier path on real-looking digits, the callback on a stub generator, and `lightning test` of the recipe."""

import math

import numpy as np
import pytest
import scipy.stats
import torch
from safetensors.torch import load_file
from torchvision import datasets

from tests.test_metrics import run_test_command
from zoo.callbacks import StackedMNISTModes
from zoo.data import Digits, StackedMNIST
from zoo.metrics.extractors import DIGIT_CLASSIFIER_WEIGHTS, DigitFeatures
from zoo.metrics.stacked_modes import classify_channels, kl_floor, mode_statistics
from zoo.nets.classifier import DigitClassifier

MODES = np.arange(1000)
DIGITS_OF_MODES = np.stack([MODES // 100, MODES // 10 % 10, MODES % 10], axis=1)  # (1000, 3): mode m's digits


def stacked(root, **kwargs) -> StackedMNIST:
    data = StackedMNIST(root=str(root), **{"num_train": 500, "val_size": 50, "test_size": 60, **kwargs})
    data.setup("fit")
    return data


# --- the data --------------------------------------------------------------------------------------
def test_each_channel_is_the_mnist_digit_its_triple_names_and_the_label_is_its_mode(mnist_root):
    data = stacked(mnist_root, batch_size=32)
    assert (len(data.train_set), len(data.val_set), len(data.test_set)) == (500, 50, 60)
    for split, train in (("train_set", True), ("test_set", False)):
        mnist = datasets.MNIST(str(mnist_root), train=train)  # read independently of the data module
        dataset = getattr(data, split)
        x, modes = data.on_after_batch_transfer(next(iter(data.loader(dataset, shuffle=False))), 0)
        assert x.shape == (32, 3, 28, 28) and x.dtype == torch.float32 and modes.dtype == torch.long
        triples = dataset.triples[:32]
        torch.testing.assert_close(x, mnist.data[triples].float() / 255)  # (32, 3, 28, 28): channel c = digit c
        digits = mnist.targets[triples]
        assert modes.tolist() == (100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]).tolist()


def test_training_stacks_draw_from_the_training_digits_and_held_out_stacks_from_the_test_digits(mnist_root):
    data = stacked(mnist_root)  # the fake MNIST has 256 training and 64 test digits
    assert len(data.train_set.digits) == 256 and data.train_set.triples.max() >= 64
    assert len(data.val_set.digits) == len(data.test_set.digits) == 64
    assert data.train_set.triples.shape == (500, 3)  # index triples are held, not the stacked images


def test_the_stacks_are_fixed_by_the_seed_and_differ_between_splits(mnist_root):
    first, again, other = stacked(mnist_root), stacked(mnist_root), stacked(mnist_root, seed=7)
    assert torch.equal(first.train_set.triples, again.train_set.triples)
    assert torch.equal(first.test_set.triples, again.test_set.triples)
    assert not torch.equal(first.train_set.triples, other.train_set.triples)
    assert not torch.equal(first.val_set.triples[:50], first.test_set.triples[:50])


def test_the_three_digits_of_a_stack_are_drawn_independently_and_uniformly(mnist_root):
    triples = stacked(mnist_root, num_train=30_000).train_set.triples.numpy()  # indices into 256 digits
    for a, b in ((0, 1), (0, 2), (1, 2)):  # chi-square test of independence of the channels' digit indices
        table = np.histogram2d(triples[:, a] // 32, triples[:, b] // 32, bins=8)[0]
        assert scipy.stats.chi2_contingency(table).pvalue > 1e-3
    for channel in range(3):
        assert scipy.stats.chisquare(np.bincount(triples[:, channel] // 32, minlength=8)).pvalue > 1e-3


# --- the metric --------------------------------------------------------------------------------------
def test_every_mode_hit_equally_gives_1000_modes_and_kl_zero():
    digits = torch.as_tensor(np.repeat(DIGITS_OF_MODES, 26, axis=0))
    stats = mode_statistics(digits)
    assert stats["modes"] == 1000 and abs(stats["kl"]) < 1e-12


def test_a_single_mode_gives_kl_log_1000():
    stats = mode_statistics(torch.tensor([[4, 0, 7]]).repeat(500, 1))
    assert stats["modes"] == 1 and stats["kl"] == pytest.approx(math.log(1000), rel=1e-12)


def test_kl_is_kl_of_the_sample_histogram_to_uniform_as_scipy_computes_it():
    rng = np.random.default_rng(0)
    modes = rng.choice(500, size=26_000, p=rng.dirichlet(np.ones(500)))  # half the modes never hit
    stats = mode_statistics(torch.as_tensor(DIGITS_OF_MODES[modes]))
    counts = np.bincount(modes, minlength=1000)
    assert stats["modes"] == (counts > 0).sum()
    # KL(p || uniform), finite although modes are missing: the reverse direction, KL(uniform || p), is infinite
    assert stats["kl"] == pytest.approx(scipy.stats.entropy(counts, np.ones(1000)), rel=1e-10)
    assert math.isinf(scipy.stats.entropy(np.ones(1000), counts))


def test_the_kl_floor_is_the_mean_kl_of_a_uniform_generator():
    rng = np.random.default_rng(0)
    kls = [mode_statistics(torch.as_tensor(DIGITS_OF_MODES[rng.integers(0, 1000, 26_000)]))["kl"]
           for _ in range(100)]
    assert np.mean(kls) == pytest.approx(kl_floor(26_000), rel=0.05)


@pytest.mark.slow
def test_each_channel_is_classified_as_that_digit_alone():
    data = Digits()  # scikit-learn's digits, upsampled to 28x28: real-looking digits without MNIST
    data.setup("fit")
    images, labels = data.train_set.dataset.tensors  # (1500, 1, 28, 28) uint8, (1500,)
    triples = torch.randint(len(images), (300, 3), generator=torch.Generator().manual_seed(0))
    stacks = images[triples].squeeze(2).float() / 255  # (300, 3, 28, 28)
    net = DigitClassifier()
    net.load_state_dict(load_file(DIGIT_CLASSIFIER_WEIGHTS))
    with torch.no_grad():
        alone = net(images.float() / 255).argmax(1)  # each digit image classified on its own
        digits = classify_channels(stacks, DigitFeatures())
    assert torch.equal(digits, alone[triples])
    assert (digits == labels[triples]).float().mean() > 0.4  # well above chance (0.1)


# --- the callback ------------------------------------------------------------------------------------
class ReadsIntensity(torch.nn.Module):
    """A stand-in digit classifier: an image of constant intensity d / 9 is digit d."""

    def forward(self, x):
        return torch.nn.functional.one_hot((x.mean((1, 2, 3)) * 9).round().long(), 10).float()


class CyclesModes(torch.nn.Module):
    """A stand-in generator whose i-th sample is mode i % period (channel c: intensity digit_c / 9)."""

    device = torch.device("cpu")

    def __init__(self, period: int):
        super().__init__()
        self.period, self.drawn = period, 0

    def sample(self, n: int) -> torch.Tensor:
        modes = np.arange(self.drawn, self.drawn + n) % self.period
        self.drawn += n
        return torch.as_tensor(DIGITS_OF_MODES[modes] / 9, dtype=torch.float32)[:, :, None, None].expand(-1, -1, 28, 28)

    def log_dict(self, values, **kwargs):
        self.logged = values


@pytest.mark.slow
def test_the_callback_counts_every_sample_in_every_batch():
    class Trainer:
        fast_dev_run = False
        datamodule = None

    callback = StackedMNISTModes(num_samples=2_600, batch_size=300)  # 8 full batches and a partial one
    callback.classifier = ReadsIntensity()
    callback.classifier.protocol = {"extractor": "intensity", "weights_sha256": "-"}
    generator = CyclesModes(period=700)
    results = callback.evaluate(Trainer(), generator, "test")
    counts = np.bincount(np.arange(2_600) % 700, minlength=1000)
    assert generator.logged == results
    assert results["test/modes"] == 700
    assert results["test/kl"] == pytest.approx(scipy.stats.entropy(counts, np.ones(1000)), rel=1e-10)


class ReadsNineAsEight(ReadsIntensity):
    """A second stand-in classifier that reads digit 9 as 8, confidently."""

    def forward(self, x):
        logits = 20 * super().forward(x)
        return torch.where(logits[:, 9:] > 0, 20 * torch.nn.functional.one_hot(torch.tensor(8), 10).float(), logits)


def test_a_second_classifier_reads_the_same_samples_and_the_disagreements_are_counted():
    class Trainer:
        fast_dev_run = False
        datamodule = None

    callback = StackedMNISTModes(num_samples=1_000, batch_size=300)
    callback.classifier = ReadsIntensity()  # one-hot logits: top probability e / (e + 9) = 0.23, below 0.9
    callback.classifier.protocol = {"extractor": "intensity", "weights_sha256": "-"}
    callback.check = ReadsNineAsEight()
    callback.check.protocol = {"classifier": "nine as eight"}
    results = callback.evaluate(Trainer(), CyclesModes(period=1000), "test")  # each mode once
    assert results["test/modes"] == 1000 and results["test/kl"] == pytest.approx(0.0, abs=1e-12)
    assert results["test/modes_check"] == 9**3  # no 9 is ever read: the modes of digits 0-8 only
    assert results["test/agreement"] == pytest.approx(0.9)  # a tenth of the channels show a 9
    assert results["test/low_confidence"] == 1.0
    assert callback.protocol["check_classifier"] == {"classifier": "nine as eight"}


@pytest.mark.slow
def test_lightning_test_of_the_recipe_reports_modes_and_kl_of_both_generators(tmp_path, mnist_root):
    report = run_test_command("configs/gan/dcgan_stacked_mnist.yaml", tmp_path, "--data.root", str(mnist_root),
                              "--data.num_train", "256", "--data.val_size", "64", "--data.test_size", "64",
                              "--trainer.callbacks.num_samples", "100")
    metrics = report["metrics"]
    for name in ("modes", "kl", "modes_live", "kl_live"):
        assert f"test/{name}" in metrics, name
    assert 1 <= metrics["test/modes"] <= 100 and 0 <= metrics["test/kl"] <= math.log(1000) + 1e-9
    stamp = report["protocols"]["StackedMNISTModes"]
    assert stamp["num_samples"] == 100 and stamp["data"] == "StackedMNIST"
