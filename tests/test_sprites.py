"""zoo.data.Sprites: its factor grid, its geometry against closed forms, its splits and its batches."""

import math

import numpy as np
import pytest
import torch

from zoo.data import Sprites
from zoo.data.sprites import FACTOR_SIZES, MAX_HALF_SIZE, POSITION_RANGE, factors_of, render
from zoo.errors import InputError

SIZE = 64


def sprite(shape=0, scale=5, orientation=0, pos_x=16, pos_y=16) -> torch.Tensor:
    """One rendered sprite (64, 64) from its factor indices."""
    return render(torch.tensor([[shape, scale, orientation, pos_x, pos_y]]))[0, 0]


def centre_in_pixels(position_index: int) -> float:
    """Where the sprite's centre is, in pixel-index coordinates (pixel i's centre is at i)."""
    low, high = POSITION_RANGE
    return (low + (high - low) * position_index / (FACTOR_SIZES[3] - 1)) * SIZE - 0.5


def test_combination_indices_follow_dsprites_order():
    every = torch.arange(math.prod(FACTOR_SIZES))
    factors = factors_of(every)
    np.testing.assert_array_equal(np.ravel_multi_index(factors.numpy().T, FACTOR_SIZES), every.numpy())
    assert factors[1].tolist() == [0, 0, 0, 0, 1] and factors[-1].tolist() == [s - 1 for s in FACTOR_SIZES]


def test_an_upright_square_covers_exactly_the_pixels_whose_centres_lie_within_its_half_size():
    for scale, pos in [(5, 16), (0, 3), (2, 29)]:
        half = MAX_HALF_SIZE * (0.5 + 0.1 * scale) * SIZE  # pixels
        inside = np.abs(np.arange(SIZE) - centre_in_pixels(pos)) <= half  # pixel centres along one axis
        want = np.outer(inside, inside)
        np.testing.assert_array_equal(sprite(0, scale, 0, pos, pos).numpy().astype(bool), want)


@pytest.mark.parametrize("shape, area", [(0, 4.0), (1, math.pi / 2), (2, None)])
def test_areas_grow_with_the_square_of_the_scale_and_match_the_closed_forms(shape, area):
    """Square (2s)^2, ellipse pi s (s / 2), in pixels, up to the pixel grid's error (s pixels: an eighth of the
    square's perimeter); the heart, whose area has no closed form here, by its growth alone."""
    counts = [float(sprite(shape, scale, 7).sum()) for scale in range(6)]
    halves = [MAX_HALF_SIZE * (0.5 + 0.1 * scale) * SIZE for scale in range(6)]
    for count, half in zip(counts, halves, strict=True):
        if area is not None:
            assert count == pytest.approx(area * half**2, abs=half)
    ratio = counts[-1] / counts[0]
    assert ratio == pytest.approx(4.0, rel=0.15)  # scale 1 against scale 0.5


def test_the_ellipse_long_axis_turns_with_the_orientation():
    """The principal axis of the pixels' second moments points along (cos a, sin a), y pointing down."""
    for orientation in (0, 3, 7, 12, 25, 33):
        angle = orientation * 2 * math.pi / 40
        ys, xs = np.nonzero(sprite(1, 5, orientation).numpy())
        covariance = np.cov(np.stack([xs, ys]))
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        axis = eigenvectors[:, -1]  # of the largest eigenvalue
        cosine = abs(axis @ np.array([math.cos(angle), math.sin(angle)]))
        assert cosine > math.cos(math.radians(3)), orientation
        assert eigenvalues[-1] / eigenvalues[0] == pytest.approx(4.0, rel=0.2)  # semi-axes s and s / 2


def test_positions_move_the_centroid_of_symmetric_shapes_by_the_position_step():
    for shape in (0, 1):
        for pos_x, pos_y in [(0, 31), (10, 20), (31, 0)]:
            ys, xs = np.nonzero(sprite(shape, 3, 0, pos_x, pos_y).numpy())
            assert xs.mean() == pytest.approx(centre_in_pixels(pos_x), abs=0.5)
            assert ys.mean() == pytest.approx(centre_in_pixels(pos_y), abs=0.5)


def test_the_heart_has_its_lobes_up_and_is_centred_across():
    image = sprite(2, 5, 0).numpy()
    rows = np.nonzero(image.any(1))[0]
    top, bottom = image[rows[0]: rows[0] + 3], image[rows[-1] - 2: rows[-1] + 1]
    assert top.sum() > 2 * bottom.sum()  # wide lobes on top, the point below
    columns = np.nonzero(image.any(0))[0]
    assert abs((columns[0] + columns[-1]) / 2 - centre_in_pixels(16)) <= 0.5


def test_no_sprite_reaches_the_image_border():
    corners = [(x, y) for x in (0, 31) for y in (0, 31)]
    factors = torch.tensor([[shape, 5, orientation, x, y] for shape in range(3) for orientation in range(40)
                            for x, y in corners])
    images = render(factors)[:, 0]
    assert images.sum((1, 2)).min() > 0
    border = images[:, 0].sum() + images[:, -1].sum() + images[:, :, 0].sum() + images[:, :, -1].sum()
    assert border == 0


def test_splits_are_disjoint_fixed_by_the_seed_and_cover_every_combination():
    data = Sprites(val_size=500, test_size=1000)
    data.setup("fit")
    splits = [data.train_set.indices, data.val_set.indices, data.test_set.indices]
    assert [len(s) for s in splits] == [math.prod(FACTOR_SIZES) - 1500, 500, 1000]
    assert torch.equal(torch.cat(splits).sort().values, torch.arange(math.prod(FACTOR_SIZES)))
    again, other = Sprites(val_size=500, test_size=1000), Sprites(val_size=500, test_size=1000, seed=1)
    again.setup("test"), other.setup("test")
    assert torch.equal(again.test_set.indices, data.test_set.indices)
    assert not torch.equal(other.test_set.indices, data.test_set.indices)
    small = Sprites(val_size=500, test_size=1000, num_train=300)
    small.setup("fit")
    assert torch.equal(small.train_set.indices, data.train_set.indices[:300])


def test_batches_are_binary_images_with_their_factors():
    data = Sprites(val_size=10, test_size=10, batch_size=16)
    data.setup("fit")
    images, factors = next(iter(data.train_dataloader()))
    assert images.shape == (16, *Sprites.dims) and images.dtype == torch.float32
    assert set(images.unique().tolist()) <= {0.0, 1.0}
    assert factors.shape == (16, 5) and factors.dtype == torch.long
    assert (factors >= 0).all() and (factors < torch.tensor(FACTOR_SIZES)).all()
    assert torch.equal(images, render(factors))
    image, item_factors = data.train_set[3]
    assert image.shape == Sprites.dims and torch.equal(image, render(item_factors[None])[0])


@pytest.mark.parametrize("options", [{"batch_size": 0}, {"test_size": 0}, {"num_train": 0},
                                     {"val_size": 400_000, "test_size": 400_000}])
def test_impossible_sizes_are_refused(options):
    with pytest.raises(InputError, match="Sprites"):
        Sprites(**options)
