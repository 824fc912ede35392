"""DiffAugment: the translation and cutout against numpy, gradients through them, and GANModule augmenting every
image its discriminator sees in training (real and generated, both players' steps) but none in evaluation."""

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from zoo import GANModule
from zoo.errors import InputError
from zoo.modules.augment import adapted_strength, cut_out, diff_augment, translate
from zoo.nets import ConvDecoder, ConvEncoder

RECIPES = Path(__file__).parents[1] / "configs"


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
    greys = (diff_augment(x, "cutout") == 0.5).flatten(1).sum(1)
    assert greys.max() == 14 * 14 and greys.min() >= 7 * 7  # half the side, clipped at the border
    marked = torch.zeros(2000, 1, 28, 28)
    marked[:, :, 14, 14] = 1
    moved = diff_augment(marked, "translation").flatten(1).argmax(1)
    down, right = moved // 28 - 14, moved % 28 - 14
    assert set(down.tolist()) == set(range(-4, 5)) and set(right.tolist()) == set(range(-4, 5))  # 28 / 8 = 3.5 -> 4


def authors_diffaugment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Zhao et al.'s DiffAugment_pytorch.py (mit-han-lab/data-efficient-gans), written as they wrote it for their
    images in [-1, 1]: the fills are 0, the middle grey, and brightness moves by U(-0.5, 0.5)."""
    for name in policy.split(","):
        if name == "color":
            x = x + (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype) - 0.5)
            x_mean = x.mean(dim=1, keepdim=True)
            x = (x - x_mean) * (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype) * 2) + x_mean
            x_mean = x.mean(dim=[1, 2, 3], keepdim=True)
            x = (x - x_mean) * (torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype) + 0.5) + x_mean
        if name == "translation":
            shift_x, shift_y = int(x.size(2) * 0.125 + 0.5), int(x.size(3) * 0.125 + 0.5)
            translation_x = torch.randint(-shift_x, shift_x + 1, size=[x.size(0), 1, 1])
            translation_y = torch.randint(-shift_y, shift_y + 1, size=[x.size(0), 1, 1])
            grid_batch, grid_x, grid_y = torch.meshgrid(torch.arange(x.size(0)), torch.arange(x.size(2)),
                                                        torch.arange(x.size(3)), indexing="ij")
            grid_x = torch.clamp(grid_x + translation_x + 1, 0, x.size(2) + 1)
            grid_y = torch.clamp(grid_y + translation_y + 1, 0, x.size(3) + 1)
            x_pad = torch.nn.functional.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
            x = x_pad.permute(0, 2, 3, 1).contiguous()[grid_batch, grid_x, grid_y].permute(0, 3, 1, 2)
        if name == "cutout":
            cutout_size = int(x.size(2) * 0.5 + 0.5), int(x.size(3) * 0.5 + 0.5)
            offset_x = torch.randint(0, x.size(2) + (1 - cutout_size[0] % 2), size=[x.size(0), 1, 1])
            offset_y = torch.randint(0, x.size(3) + (1 - cutout_size[1] % 2), size=[x.size(0), 1, 1])
            grid_batch, grid_x, grid_y = torch.meshgrid(torch.arange(x.size(0)), torch.arange(cutout_size[0]),
                                                        torch.arange(cutout_size[1]), indexing="ij")
            grid_x = torch.clamp(grid_x + offset_x - cutout_size[0] // 2, min=0, max=x.size(2) - 1)
            grid_y = torch.clamp(grid_y + offset_y - cutout_size[1] // 2, min=0, max=x.size(3) - 1)
            mask = torch.ones(x.size(0), x.size(2), x.size(3), dtype=x.dtype)
            mask[grid_batch, grid_x, grid_y] = 0
            x = x * mask.unsqueeze(1)
    return x


@pytest.mark.parametrize("policy", ["translation", "cutout", "color", "translation,cutout", "color,translation,cutout"])
def test_augmenting_images_in_0_1_is_the_authors_augmentation_of_the_same_images_in_their_minus_1_1(policy):
    """The zoo's images lie in [0, 1], the authors' in [-1, 1], where their zero fills are the middle grey: on
    MNIST's black background a black fill would hide where a digit was cut or moved."""
    x = torch.rand(64, 3 if "color" in policy else 1, 28, 28, dtype=torch.float64)
    torch.manual_seed(3)
    ours = diff_augment(x, policy)
    torch.manual_seed(3)
    theirs = (authors_diffaugment(2 * x - 1, policy) + 1) / 2
    torch.testing.assert_close(ours, theirs)


def test_a_translated_black_image_shows_its_shift_so_a_digit_moved_is_not_a_digit_drawn_elsewhere():
    """Filled with the background's black, a digit moved by t would be the same image as a digit drawn t away, and
    the discriminator could not tell a generator that places digits loosely; the grey border shows each shift."""
    torch.manual_seed(0)
    moved = diff_augment(torch.zeros(4000, 1, 28, 28), "translation")
    assert len(torch.unique(moved.flatten(1), dim=0)) == 9 * 9


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
    assert all((image == 0.5).any() for image in seen[-1])  # every training input has its square cut out
    gan.eval()
    gan.discriminate(real)
    assert not (seen[-1] == 0.5).any()


def test_an_operation_with_a_probability_augments_that_share_of_the_images():
    torch.manual_seed(0)
    x = torch.ones(4000, 1, 28, 28)
    cut = (diff_augment(x, "cutout@0.3") == 0.5).flatten(1).any(1).float().mean()
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


@pytest.mark.parametrize("split", ["mnist10", "mnist1"])
def test_the_small_data_twins_are_dcgan_mnist_except_data_and_augmentation(split):
    """Each DiffAugment pair is the shipped DCGAN recipe (its networks and both players' optimisers) on less data,
    and the two twins differ only by the augmentation."""
    def model_of(recipe: str) -> dict:
        return yaml.safe_load((RECIPES / f"gan/{recipe}.yaml").read_text())["model"]["init_args"]

    dcgan, plain = model_of("dcgan_mnist"), model_of(f"dcgan_{split}")
    augmented = model_of(f"dcgan_diffaugment_{split}")
    assert augmented.pop("diffaugment") and plain == augmented
    assert plain == dcgan


def test_ada_strength_moves_by_the_batch_over_images_towards_the_target_and_stays_in_0_1():
    confident, unsure = torch.full((16,), 3.0), torch.tensor([1.0] * 4 + [-1.0] * 12)  # mean signs 1 and -0.5
    assert adapted_strength(0.5, confident, 0.6, 160) == pytest.approx(0.6)
    assert adapted_strength(0.5, unsure, 0.6, 160) == pytest.approx(0.4)
    assert adapted_strength(0.5, torch.tensor([1.0, -1.0]), 0.0, 160) == 0.5  # exactly at the target
    assert adapted_strength(0.95, confident, 0.6, 160) == 1.0 and adapted_strength(0.05, unsure, 0.6, 160) == 0.0


def test_the_strength_scales_every_operation_s_probability():
    torch.manual_seed(0)
    x = torch.ones(4000, 1, 28, 28)
    assert torch.equal(diff_augment(x, "translation,cutout", 0.0), x)
    grey_levels = (torch.arange(256.0) / 255).view(1, 1, 16, 16)  # 63 of them change on a trip through [-1, 1]
    assert torch.equal(diff_augment(grey_levels, "translation,cutout", 0.0), grey_levels)
    cut = (diff_augment(x, "cutout@0.6", 0.5) == 0.5).flatten(1).any(1).float().mean()
    assert abs(cut - 0.3) < 4 * (0.3 * 0.7 / 4000) ** 0.5


class ConstantJudge(torch.nn.Module):
    """A discriminator whose logit is `logit` whatever it sees (its one parameter only keeps the optimiser busy)."""

    def __init__(self, image_shape, out_features, num_classes, logit: float):
        super().__init__()
        self.logit, self.weight = logit, torch.nn.Parameter(torch.zeros(1))

    def forward(self, x, labels=None):
        return self.logit + self.weight * x.flatten(1).sum(1, keepdim=True)


@pytest.mark.parametrize("logit, strength", [(5.0, 0.5), (-5.0, 0.0)])
def test_a_discriminator_sure_of_its_real_images_raises_the_ada_strength_which_the_checkpoint_keeps(
        logit, strength, tmp_path):
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    gan = GANModule(discriminator=partial(ConstantJudge, logit=logit), image_shape=(1, 8, 8), latent_dim=4,
                    diffaugment="cutout", augment_target=0.6, augment_images=80)
    data = DataLoader(TensorDataset(torch.rand(40, 1, 8, 8), torch.zeros(40, dtype=torch.long)), batch_size=8)
    L.Trainer(max_steps=10, logger=False, enable_checkpointing=False, enable_progress_bar=False,
              enable_model_summary=False, default_root_dir=tmp_path).fit(gan, data)  # 5 D steps of 8 images
    assert float(gan.augment_strength) == pytest.approx(strength)  # 5 x 8 / 80 up, or held at 0
    restored = GANModule(discriminator=partial(ConstantJudge, logit=logit), image_shape=(1, 8, 8), latent_dim=4,
                         diffaugment="cutout", augment_target=0.6, augment_images=80)
    restored.load_state_dict(gan.state_dict())
    assert float(restored.augment_strength) == pytest.approx(strength)


def test_ada_without_a_policy_or_with_a_target_outside_minus_1_1_is_refused():
    with pytest.raises(InputError, match="augment_target"):
        GANModule(augment_target=0.6)
    with pytest.raises(InputError, match="augment_target"):
        GANModule(diffaugment="cutout", augment_target=1.5)
