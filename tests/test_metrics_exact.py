"""KID and the Inception Score of `ImageQuality` against an independent numpy computation on the same features and
logits, and `mode_statistics` on hand-built point sets."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from zoo.metrics.fid import ImageQuality
from zoo.metrics.toy import mode_statistics

NUM_FEATURES, NUM_CLASSES = 16, 10


class GivenFeatures(nn.Module):
    """An extractor whose 'images' are already (features | logits) rows: (B, 16 + 10)."""

    num_features = NUM_FEATURES

    def forward(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return rows[:, :NUM_FEATURES], rows[:, NUM_FEATURES:]


def rows(n: int, shift: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n, NUM_FEATURES, generator=generator) + shift
    logits = 3 * torch.randn(n, NUM_CLASSES, generator=generator)
    return torch.cat([features, logits], 1)


def unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 (Gretton et al. 2012) with KID's kernel k(a, b) = (a.b / d + 1)^3 (Binkowski et al. 2018)."""
    m, d = len(x), x.shape[1]
    kernel = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return within - 2 * k_xy.mean()


def quality_of(real: torch.Tensor, fake: torch.Tensor, **kwargs) -> dict:
    quality = ImageQuality(GivenFeatures(), **kwargs)
    quality.update(real, real=True)
    quality.update(fake, real=False)
    return quality.compute()


def test_kid_over_subsets_covering_both_sets_is_the_unbiased_mmd2():
    real, fake = rows(60, 0.0, seed=0), rows(60, 0.3, seed=1)
    results = quality_of(real, fake, kid_subsets=5, kid_subset_size=60, inception_score=False)
    expected = unbiased_mmd2(real[:, :NUM_FEATURES].double().numpy(), fake[:, :NUM_FEATURES].double().numpy())
    assert results["kid_mean"] == pytest.approx(expected, rel=1e-4)
    assert results["kid_std"] == pytest.approx(0.0, abs=1e-4 * abs(expected))  # every subset is the whole set


def test_kid_over_random_subsets_is_the_mean_and_spread_of_their_mmd2():
    real, fake = rows(80, 0.0, seed=2), rows(70, 0.2, seed=3)
    subsets, size, seed = 8, 30, 5
    results = quality_of(real, fake, kid_subsets=subsets, kid_subset_size=size, inception_score=False, seed=seed)
    torch.manual_seed(seed)  # the subsets' draws: for each subset a permutation of the real, then of the fake rows
    draws = [(torch.randperm(len(real))[:size], torch.randperm(len(fake))[:size]) for _ in range(subsets)]
    f_real, f_fake = real[:, :NUM_FEATURES].double().numpy(), fake[:, :NUM_FEATURES].double().numpy()
    values = np.array([unbiased_mmd2(f_real[r.numpy()], f_fake[f.numpy()]) for r, f in draws])
    assert results["kid_mean"] == pytest.approx(values.mean(), rel=1e-4)
    assert results["kid_std"] == pytest.approx(values.std(), rel=1e-3)


def inception_score(logits: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))), p(y) the mean of p(y|x) over the rows given."""
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    p = np.exp(log_p)
    return float(np.exp((p * (log_p - np.log(p.mean(0)))).sum(1).mean()))


def test_inception_score_is_exp_of_the_mean_kl_to_the_marginal_per_split():
    real, fake = rows(20, 0.0, seed=6), rows(200, 0.0, seed=7)
    results = quality_of(real, fake, kid=False, seed=11)
    torch.manual_seed(11)  # torchmetrics shuffles the rows, then splits them into 10 groups
    order = torch.randperm(len(fake)).numpy()
    logits = fake[:, NUM_FEATURES:].double().numpy()[order]
    scores = np.array([inception_score(split) for split in np.array_split(logits, 10)])
    assert results["inception_score_mean"] == pytest.approx(scores.mean(), rel=1e-5)
    assert results["inception_score_std"] == pytest.approx(scores.std(ddof=1), rel=1e-4)
    assert 1 < scores.mean() < NUM_CLASSES  # between one class for all and all classes, each certain


# --- mode statistics ------------------------------------------------------------------------------------------------
MEANS = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])  # std 1: high quality within 3


def test_mode_statistics_on_a_hand_built_set():
    samples = torch.tensor([
        [0.5, 0.0], [0.0, -1.0], [2.9, 0.0],  # mode 0: three high-quality points (2.9 < 3 std)
        [10.0, 2.0],  # mode 1: one
        [0.0, 13.5],  # nearest to mode 2 but 3.5 std away: low quality, so mode 2 is missed
        [10.0, 10.0], [11.0, 11.0],  # mode 3: two (1.41 std)
        [30.0, 30.0],  # far from everything: low quality
    ])
    stats = mode_statistics(samples, MEANS, std=1.0)
    assert stats["modes"] == 3
    assert stats["high_quality"] == pytest.approx(6 / 8)
    shares = [3 / 6, 1 / 6, 2 / 6]  # of the high-quality points, over the captured modes; KL to uniform over 4 modes
    assert stats["reverse_kl"] == pytest.approx(sum(p * math.log(p * 4) for p in shares))


def test_mode_statistics_of_a_balanced_set_and_of_a_set_with_no_high_quality_point():
    balanced = MEANS.repeat_interleave(5, 0) + 0.5
    assert mode_statistics(balanced, MEANS, std=1.0) == {"modes": 4, "high_quality": 1.0, "reverse_kl": 0.0}
    assert mode_statistics(balanced, MEANS, std=0.1) == {"modes": 0, "high_quality": 0.0, "reverse_kl": math.inf}
