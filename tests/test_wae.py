"""WAE-MMD (Tolstikhin et al. 2018) as the paper builds it: a deterministic encoder z = mu(x), a decoder whose
mean ends in a sigmoid, and lambda MMD^2 between the batch's codes and samples of p(z)."""

from pathlib import Path

import pytest
import torch
import yaml

from zoo import VAEModule
from zoo.distributions import GaussianLikelihood, gaussian_prior
from zoo.distributions.mmd import mmd_squared
from zoo.errors import InputError
from zoo.modules.vae_objective import VAEObjective
from zoo.nets import MLPDecoder, MLPEncoder


def wae() -> VAEModule:
    torch.manual_seed(0)
    return VAEModule(MLPEncoder, MLPDecoder, GaussianLikelihood, latent_dim=4,
                     objective=VAEObjective(beta=0.0, mmd_weight=10.0, deterministic_encoder=True))


def test_a_deterministic_encoder_reconstructs_from_the_posterior_mean_and_matches_its_codes_by_mmd():
    model, x = wae(), torch.rand(16, 1, 28, 28)
    torch.manual_seed(1)
    loss, logs, _, _ = model.step((x, None))
    mu = model._encode(x, None).mean
    expected_reconstruction = GaussianLikelihood()(model.decoder(mu)).log_prob(x).mean()
    torch.manual_seed(1)  # the same prior samples as the step drew
    expected_mmd = mmd_squared(mu, gaussian_prior(4).sample((16,)), 1.0, "imq")
    torch.testing.assert_close(logs["reconstruction"], expected_reconstruction)
    torch.testing.assert_close(logs["mmd"], expected_mmd)
    torch.testing.assert_close(loss, -expected_reconstruction + 10.0 * expected_mmd)


def test_a_deterministic_encoder_gives_the_same_loss_on_every_call():
    model, x = wae(), torch.rand(16, 1, 28, 28)
    losses = []
    for _ in range(2):
        torch.manual_seed(len(losses))  # different draws of p(z) for the MMD, the same codes
        losses.append(model.step((x, None))[1]["reconstruction"])
    assert losses[0] == losses[1]


@pytest.mark.parametrize("objective, prior", [({"beta": 1.0}, "gaussian"),
                                              ({"bound": "iwae", "beta": 1.0, "mmd_weight": 0.0}, "gaussian"),
                                              ({}, "vamp"), ({}, {"top_latent_dim": 2})])
def test_a_deterministic_encoder_refuses_what_needs_a_posterior_density(objective, prior):
    with pytest.raises(InputError, match="deterministic_encoder"):
        VAEModule(latent_dim=4, prior=prior,
                  objective={"beta": 0.0, "mmd_weight": 10.0, "deterministic_encoder": True, **objective})


def test_a_sigmoid_mean_keeps_the_gaussian_decoder_in_the_pixel_range():
    likelihood = GaussianLikelihood(sigma=0.1, mean_activation="sigmoid")
    mean = likelihood(torch.tensor([[[[-100.0, 0.0, 100.0]]]])).mean
    torch.testing.assert_close(mean, torch.tensor([[[[0.0, 0.5, 1.0]]]]))
    assert GaussianLikelihood()(torch.tensor([[[[-3.0]]]])).mean.item() == -3.0  # identity by default


def test_the_wae_recipe_builds_the_papers_model():
    recipe = Path(__file__).parent.parent / "configs/vae/wae_mmd_mnist.yaml"
    init = yaml.safe_load(recipe.read_text())["model"]["init_args"]
    assert init["objective"]["deterministic_encoder"] is True and init["objective"]["beta"] == 0.0
    assert init["likelihood"]["init_args"]["mean_activation"] == "sigmoid"
