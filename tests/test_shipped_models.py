"""The shipped weights do what their cards say: `cgan.mnist` draws the digit it is asked for (as the shipped digit
classifier reads it), and the toy GANs' `lightning test` figures, re-measured, agree with their cards within the
sampling noise of the cards' protocol. No data set is needed."""

import json
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import zoo
from tests.conftest import REPO
from zoo.cli.lightning_cli import main
from zoo.data import ToyMixture
from zoo.metrics.extractors import DigitFeatures

SAMPLES_PER_CLASS = 500  # 5000 samples: a class share is known to about +-1 point


def test_cgan_draws_the_asked_digit_at_least_95_percent_of_the_time():
    gan, classifier = zoo.load_pretrained("cgan.mnist"), DigitFeatures()
    torch.manual_seed(0)
    accuracy = {}
    with torch.no_grad():
        for digit in range(10):
            images = gan.sample(SAMPLES_PER_CLASS, labels=torch.full((SAMPLES_PER_CLASS,), digit))
            accuracy[digit] = float((classifier(images)[1].argmax(1) == digit).float().mean())
    assert min(accuracy.values()) >= 0.95, accuracy


def card(name: str) -> tuple[dict[str, float], dict]:
    """A model card's test metrics (its table) and protocol (its JSON block)."""
    text = (REPO / "checkpoints" / name / "README.md").read_text()
    metrics = {key: float(value) for key, value in re.findall(r"^\| `(test/\w+)` \| ([-\d.e]+) \|$", text, re.M)}
    protocol = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    return metrics, protocol


def lightning_test(name: str, recipe: str, tmp_path: Path) -> dict:
    """The card's evaluation command, run here: `lightning test --config <recipe> --weights <name>`."""
    test = main(["test", "--config", str(REPO / recipe), "--weights", name, "--trainer.logger", "false",
                 "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path)])
    return json.loads((Path(test.trainer.log_dir or tmp_path) / "test_results.json").read_text()), test.model


@pytest.mark.parametrize("name, recipe", [("gan_mlp.ring", "configs/gan/toy_ring.yaml"),
                                          ("gan_mlp.grid", "configs/gan/toy_grid.yaml")])
def test_toy_gan_cards_agree_with_a_fresh_lightning_test(name, recipe, tmp_path):
    stated, protocol = card(name)
    report, gan = lightning_test(name, recipe, tmp_path)
    measured = report["metrics"]
    assert report["protocols"] == protocol  # the same number of points, seed and sampler as the card's
    n, modes = protocol["ToyModes"]["num_points"], round(stated["test/modes"])
    assert measured["test/modes"] == modes
    p = stated["test/high_quality"]
    assert abs(measured["test/high_quality"] - p) <= 3 * math.sqrt(p * (1 - p) / n)  # binomial: +-0.35 points
    # 2 n_hq KL-hat is about noncentral chi^2 with modes - 1 degrees of freedom and non-centrality 2 n_hq KL
    n_hq, kl = n * p, stated["test/reverse_kl"]
    kl_sd = math.sqrt(2 * (modes - 1) + 8 * n_hq * kl) / (2 * n_hq)
    assert abs(measured["test/reverse_kl"] - kl) <= 3 * kl_sd + (modes - 1) / (2 * n_hq)
    # d_loss: a mean over the held-out points and as many generated ones; its noise from the per-point losses
    assert gan.objective.loss == "non_saturating"  # d_loss = mean softplus(-l(real)) + mean softplus(l(fake))
    data = ToyMixture(protocol["ToyModes"]["data"].split(":")[0])
    data.setup("test")
    real = data.val_set.tensors[0]
    with torch.no_grad():
        torch.manual_seed(1)
        fake = gan.generate(torch.randn(len(real), gan.hparams.latent_dim))
        real_terms, fake_terms = F.softplus(-gan.discriminate(real)), F.softplus(gan.discriminate(fake))
    d_loss_sd = math.sqrt((real_terms.var() + fake_terms.var()) / len(real))
    assert abs(measured["test/d_loss"] - stated["test/d_loss"]) <= 4 * d_loss_sd + 1e-3  # the card rounds to 4 digits
