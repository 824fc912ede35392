"""DiffAugment: the translation and cutout against numpy, gradients through them, and GANModule augmenting every
image its discriminator sees in training (real and generated, both players' steps) but none in evaluation."""

from functools import partial

import numpy as np
import pytest
import torch

from zoo import GANModule
from zoo.errors import InputError
from zoo.modules.augment import cut_out, diff_augment, translate
from zoo.nets import ConvDecoder, ConvEncoder


def numpy_translate(image: np.ndarray, down: int, right: int) -> np.ndarray:
    out = np.zeros_like(image)
    h, w = image.shape[-2:]
    rows_to, rows_from = slice(max(down, 0), h + min(down, 0)), slice(max(-down, 0), h + min(-down, 0))
    cols_to, cols_from = slice(max(right, 0), w + min(right, 0)), slice(max(-right, 0), w + min(-right, 0))
    out[..., rows_to, cols_to] = image[..., rows_from, cols_from]
    return out


def test_translate_moves_each_image_by_its_shift_with_zero_fill():
    x = torch.rand(5, 2, 7, 9, dtype=torch.float64)
    shifts = torch.tensor([[1, -2], [0, 0], [-3, 4], [2, 2], [-1, 0]])
    got = translate(x, shifts).numpy()
    for i, (down, right) in enumerate(shifts.tolist()):
        np.testing.assert_array_equal(got[i], numpy_translate(x[i].numpy(), down, right))


def test_cut_out_zeroes_the_square_around_each_centre_clipped_at_the_border():
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64) + 1
    centres, size = torch.tensor([[4, 4], [0, 7], [7, 0]]), (4, 4)
    got = cut_out(x, centres, size).numpy()
    for i, (r, c) in enumerate(centres.tolist()):
        expected = x[i].numpy().copy()
        expected[:, max(r - 2, 0): r + 2, max(c - 2, 0): c + 2] = 0
        np.testing.assert_array_equal(got[i], expected)


def test_gradients_flow_back_through_the_augmentation_to_the_pixels_kept():
    x = torch.rand(2, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    translate(x, torch.tensor([[2, 0], [0, -1]])).sum().backward()
    expected = np.ones((2, 1, 6, 6))
    expected[0, :, 4:] = 0  # moved down by 2: the last two rows leave the frame
    expected[1, :, :, 0] = 0  # moved left by 1: the first column leaves
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_random_ranges_follow_the_paper():
    torch.manual_seed(0)
    x = torch.ones(2000, 1, 28, 28)
    zeros = (diff_augment(x, "cutout") == 0).flatten(1).sum(1)
    assert zeros.max() == 14 * 14 and zeros.min() >= 7 * 7  # half the side, clipped at the border
    marked = torch.zeros(2000, 1, 28, 28)
    marked[:, :, 14, 14] = 1
    moved = diff_augment(marked, "translation").flatten(1).argmax(1)
    down, right = moved // 28 - 14, moved % 28 - 14
    assert set(down.tolist()) == set(range(-4, 5)) and set(right.tolist()) == set(range(-4, 5))  # 28 / 8 = 3.5 -> 4


def test_an_unknown_operation_is_refused():
    with pytest.raises(InputError, match="unknown DiffAugment"):
        GANModule(diffaugment="translation,flip")


def test_the_discriminator_sees_augmented_images_in_training_only():
    gan = GANModule(partial(ConvDecoder, base_channels=4), partial(ConvEncoder, base_channels=4, norm="none"),
                    latent_dim=4, diffaugment="cutout")
    seen = []
    gan.discriminator.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    real = torch.ones(8, 1, 28, 28)
    gan.train()
    logits = gan.discriminate(real)
    logits.sum().backward()
    assert all((image == 0).any() for image in seen[-1])  # every training input has its square cut out
    gan.eval()
    gan.discriminate(real)
    assert not (seen[-1] == 0).any()


def test_an_operation_with_a_probability_augments_that_share_of_the_images():
    torch.manual_seed(0)
    x = torch.ones(4000, 1, 28, 28)
    cut = (diff_augment(x, "cutout@0.3") == 0).flatten(1).any(1).float().mean()
    assert abs(cut - 0.3) < 4 * (0.3 * 0.7 / 4000) ** 0.5  # a binomial share, within 4 standard errors
    marked = torch.zeros(4000, 1, 28, 28)
    marked[:, :, 14, 14] = 1
    unmoved = (diff_augment(marked, "translation@0.5")[:, 0, 14, 14] == 1).float().mean()
    expected = 0.5 + 0.5 / 81  # left alone, or moved by (0, 0) among the 9 x 9 shifts
    assert abs(unmoved - expected) < 4 * (expected * (1 - expected) / 4000) ** 0.5


@pytest.mark.parametrize("policy", ["translation@0", "translation@1.5", "cutout@half", "flip@0.5"])
def test_a_probability_outside_0_1_or_an_unknown_operation_is_refused(policy):
    with pytest.raises(InputError, match="DiffAugment"):
        GANModule(diffaugment=policy)
