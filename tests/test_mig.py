"""The Mutual Information Gap against exact values on factor grids, and its `lightning test` callback on Sprites."""

import itertools
import math

import lightning
import numpy as np
import pytest
import torch

from zoo import VAEModule
from zoo.callbacks import MutualInformationGap
from zoo.data import Digits, Sprites
from zoo.errors import InputError
from zoo.metrics.likelihood import NLLEstimate
from zoo.metrics.mig import discretise, mutual_information_gap, mutual_information_gaps


def grid(*sizes: int) -> np.ndarray:
    """Every combination of factor values 0 .. n_k - 1 once (N, K): the factors are exactly independent."""
    return np.array(list(itertools.product(*(range(n) for n in sizes))))


def entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def test_discretise_cuts_each_latent_into_equal_width_bins_over_its_range():
    latents = np.random.default_rng(0).normal(size=(1000, 3)) * [1.0, 5.0, 0.1]
    codes = discretise(latents, 20)
    assert codes.min() == 0 and codes.max() == 19
    for j in range(3):
        np.testing.assert_array_equal(np.bincount(codes[:, j], minlength=20), np.histogram(latents[:, j], 20)[0])


def test_latents_that_copy_the_factors_score_the_share_of_each_factor_entropy_their_bins_keep():
    """A copied factor of n <= 20 values keeps its entropy whole (gap 1); one of 40 or 32 values loses what the 20
    equal-width bins merge: gap = H(bin(v)) / log n with bin(v) = min(floor(20 v / (n - 1)), 19). The other latents
    copy independent factors, so they share nothing with it."""
    sizes = (3, 6, 40, 32)
    factors = grid(*sizes)
    expected = []
    for n in sizes:
        values = np.arange(n)
        bins = np.minimum(np.floor(20 * values / (n - 1)), 19).astype(int)
        counts = np.bincount(bins)  # each value equally often in the grid
        expected.append(entropy(counts) / math.log(n))
    gaps = mutual_information_gaps(factors.astype(float), factors)
    np.testing.assert_allclose(gaps, expected, rtol=0, atol=1e-9)
    assert expected[:2] == pytest.approx([1.0, 1.0]) and expected[2] < 1 and expected[3] < 1
    assert mutual_information_gap(factors.astype(float), factors) == pytest.approx(np.mean(expected), abs=1e-9)


def test_latents_independent_of_the_factors_score_about_zero():
    """Each plug-in I(z_j; v_k) is biased up by about (bins - 1)(n_k - 1) / (2 N) (Miller-Madow), 0.0185 nats or
    0.5 % of H(v_k) for the 40-value factor at N = 20,000; the gap between two such estimates cancels it."""
    rng = np.random.default_rng(1)
    factors = np.stack([rng.integers(0, n, 20_000) for n in (3, 6, 40, 32, 32)], axis=1)
    latents = rng.normal(size=(20_000, 10))
    assert mutual_information_gap(latents, factors) < 0.001


def test_a_factor_that_two_latents_encode_equally_has_no_gap():
    """z0 and z1 are two different one-to-one codes of the pair (a, b), so each knows a and b fully: the gaps of a
    and b are 0; z2 copies c alone: gap 1. MIG = (0 + 0 + 1) / 3."""
    factors = grid(2, 5, 7)
    a, b, c = factors.T
    latents = np.stack([5 * a + b, 2 * b + a, c], axis=1).astype(float)  # 10 values: a bin each
    np.testing.assert_allclose(mutual_information_gaps(latents, factors), [0.0, 0.0, 1.0], rtol=0, atol=1e-12)
    assert mutual_information_gap(latents, factors) == pytest.approx(1 / 3, abs=1e-12)


def test_one_latent_that_encodes_two_factors_leaves_both_their_gaps_whole():
    """MIG scores each factor's best latent against its second best, not each latent's purity: a latent that
    encodes a and b together (one-to-one), beside one that knows nothing, gives both factors a gap of 1."""
    factors = grid(2, 5)
    a, b = factors.T
    latents = np.stack([5 * a + b, np.zeros(len(a))], axis=1)
    np.testing.assert_allclose(mutual_information_gaps(latents, factors), [1.0, 1.0], rtol=0, atol=1e-12)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="same N"):
        mutual_information_gap(np.zeros((5, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="L >= 2"):
        mutual_information_gap(np.zeros((5, 1)), np.zeros((5, 2)))


# --- `lightning test` ---------------------------------------------------------------------------------------------
def lightning_tested(data, callback: MutualInformationGap, tmp_path):
    torch.manual_seed(0)
    module = VAEModule(image_shape=data.dims, latent_dim=4, test_nll=NLLEstimate(num_samples=2))
    trainer = lightning.Trainer(limit_test_batches=1, logger=False, enable_progress_bar=False, callbacks=[callback],
                                default_root_dir=tmp_path)
    trainer.test(module, data, verbose=False)
    return trainer, module


def test_lightning_test_logs_the_gap_of_the_test_sprites_posterior_means(tmp_path):
    data = Sprites(val_size=10, test_size=300, num_train=100, batch_size=64)
    callback = MutualInformationGap(num_images=150, factors=["scale", "pos_x", "pos_y"])
    trainer, module = lightning_tested(data, callback, tmp_path)
    images, factors = data.test_set.__getitems__(list(range(150)))  # the test split's first 150 sprites
    with torch.no_grad():
        means = module.eval().encode(images).mean.double().numpy()
    gaps = mutual_information_gaps(means, factors.numpy())
    metrics = trainer.callback_metrics
    for name, gap in zip(Sprites.factor_names, gaps, strict=True):
        assert float(metrics[f"test/mig/{name}"]) == pytest.approx(gap, abs=1e-5), name
    assert float(metrics["test/mig"]) == pytest.approx(np.mean(gaps[[1, 3, 4]]), abs=1e-5)
    assert callback.protocol["num_images"] == 150 and callback.protocol["factors"] == ["scale", "pos_x", "pos_y"]


def test_data_without_named_factors_is_refused_with_a_reason(tmp_path):
    with pytest.raises(InputError, match="factor_names"):
        lightning_tested(Digits(image_size=28, batch_size=16), MutualInformationGap(num_images=32), tmp_path)
    with pytest.raises(InputError, match="factors must be some of"):
        lightning_tested(Sprites(val_size=10, test_size=64, num_train=64), MutualInformationGap(factors=["colour"]),
                         tmp_path)
