"""Precision/recall (k = 3) and density/coverage (k = 5) of zoo.metrics.manifold, on point sets whose answer is
known: identical sets, disjoint sets, a hand-computed one-dimensional case and a toy generator that drops half the
modes; and through `ImageQuality`, on the features its KID keeps."""

import pytest
import torch

from tests.test_metrics_exact import NUM_CLASSES, NUM_FEATURES, quality_of
from zoo.metrics.manifold import manifold_metrics


def test_identical_sets_score_one_on_all_four():
    points = torch.randn(400, 8, generator=torch.Generator().manual_seed(0))
    assert manifold_metrics(points, points.clone()) == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0})


def test_disjoint_sets_score_zero():
    points = torch.randn(300, 8, generator=torch.Generator().manual_seed(1))
    assert manifold_metrics(points, points + 100.0) == {"precision": 0.0, "recall": 0.0, "density": 0.0,
                                                        "coverage": 0.0}


def test_a_hand_computed_one_dimensional_case():
    # real 0..6. Radii, k = 3 (3rd nearest other point): 3, 2, 2, 2, 2, 2, 3; k = 5: 5, 4, 3, 3, 3, 4, 5.
    # fake 0.5, 2.5 lie in real balls (k = 3), 9.5 does not (|9.5 - 6| = 3.5), 20 ... 50 are far: precision 2/7.
    # The fake ball of 0.5 (radius 19.5, k = 3) holds every real point: recall 1.
    # Real balls (k = 5) holding each fake: 0.5 those of 0-3, 2.5 all seven, 9.5 that of 6: density 12 / (5 * 7).
    # Every real point's nearest fake is within its k = 5 radius (6's: 3.5 < 5): coverage 1.
    real = torch.arange(7.0)[:, None]
    fake = torch.tensor([0.5, 2.5, 9.5, 20.0, 30.0, 40.0, 50.0])[:, None]
    assert manifold_metrics(real, fake) == pytest.approx(
        {"precision": 2 / 7, "recall": 1.0, "density": 12 / 35, "coverage": 1.0})


def test_a_generator_that_drops_half_the_modes_has_half_the_recall_and_full_precision():
    generator = torch.Generator().manual_seed(2)
    centres = 20.0 * torch.randn(10, 2, generator=generator)  # ten well-separated modes
    real = centres[torch.arange(2000) % 10] + torch.randn(2000, 2, generator=generator)
    fake = centres[torch.arange(2000) % 5] + torch.randn(2000, 2, generator=generator)  # only the first five
    scores = manifold_metrics(real, fake)
    assert scores["precision"] > 0.95 and scores["coverage"] == pytest.approx(0.5, abs=0.03)
    assert scores["recall"] == pytest.approx(0.5, abs=0.03)


def test_image_quality_reports_them_on_the_features_kid_keeps():
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(200, NUM_FEATURES, generator=generator)
    rows = torch.cat([features, torch.randn(200, NUM_CLASSES, generator=generator)], 1)
    same = quality_of(rows, rows.clone(), kid_subsets=2, kid_subset_size=50, inception_score=False)
    assert {k: same[k] for k in ("precision", "recall", "density", "coverage")} == pytest.approx(
        {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0})
    moved = rows.clone()
    moved[:, :NUM_FEATURES] += 50.0
    far = quality_of(rows, moved, kid_subsets=2, kid_subset_size=50, inception_score=False)
    assert far["precision"] == far["recall"] == 0.0
    assert "precision" not in quality_of(rows, rows.clone(), kid=False, inception_score=False)
