"""The registry-wide looks test: every digit entry's sample(2000), read by the shipped digit classifier, has every
class (a conditional entry: the asked one), confident digits and MNIST's ink; exactly the entries the registry
marks with a known shortfall fail it, on exactly the marked criteria."""

import pytest
import torch

import zoo
from zoo.hub import registry
from zoo.metrics.looks import MNIST_INK, looks_problems, measure_looks

DIGIT_ENTRIES = [name for name in zoo.list_models(pretrained=True)
                 if name.split(".")[1].startswith(("mnist", "stacked_mnist")) and not name.startswith("digit_")]


def figures(**changes) -> dict:
    good = {"rarest_class": 3, "rarest_share": 0.07, "confidence": 0.95, "ink": MNIST_INK, "ink_ratio": 1.0}
    return {**good, **changes}


@pytest.mark.parametrize("changes, failed", [
    ({}, set()), ({"rarest_share": 0.039}, {"classes"}), ({"confidence": 0.79}, {"confidence"}),
    ({"ink_ratio": 1.41}, {"ink"}), ({"ink_ratio": 0.59}, {"ink"}), ({"ink_ratio": 0.61}, set()),
    ({"accuracy": 0.89, "rarest_share": 0.0}, {"accuracy"}), ({"accuracy": 0.91, "rarest_share": 0.0}, set())])
def test_the_criteria_at_their_limits(changes, failed):
    assert set(looks_problems(figures(**changes))) == failed


def test_it_goes_red_on_the_conv_vae_sampled_from_its_prior():
    """N(0, I) is far from this VAE's aggregate posterior: its decoded means are grey blobs."""
    vae = zoo.load_pretrained("vae_conv_gaussian.mnist")
    vae.hparams.sampler = "prior"
    problems = looks_problems(measure_looks(vae, num_samples=500))
    assert {"confidence", "ink"} <= set(problems), problems


@pytest.mark.slow
def test_it_reads_real_looking_digits_as_passing():
    """The sample grids of a model that draws what the classifier was trained on pass: a stand-in module whose
    sample() returns the classifier's own confident inputs (the shipped cGAN's class-asked digits)."""
    cgan = zoo.load_pretrained("cgan.mnist")

    class Replay(torch.nn.Module):
        hparams = {"num_classes": 0}
        device = torch.device("cpu")

        def sample(self, n, labels=None):
            return cgan.sample(n, labels=torch.arange(n) % 10)

    assert looks_problems(measure_looks(Replay(), num_samples=500)) == {}


@pytest.mark.slow
@pytest.mark.parametrize("name", DIGIT_ENTRIES)
def test_every_digit_entry_looks_like_its_data_or_is_marked_with_its_shortfall(name):
    problems = looks_problems(measure_looks(registry.load_pretrained(name)))
    marked = registry.get(name).looks_shortfall or {}
    assert set(problems) == set(marked), f"{name}: measured {problems or 'a pass'}, marked {marked or 'none'}"
