"""Ex-post samplers (zoo.distributions.samplers) fitted through VAEModule.fit_sampler, against known latent
distributions."""

from functools import partial

import numpy as np
import pytest
import torch

from zoo import VAEModule
from zoo.hub import folders
from zoo.nets import MLPDecoder, MLPEncoder

WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[-3.0, 0.0], [2.0, 2.0], [2.0, -3.0]])
COVARIANCES = np.array([[[1.0, 0.5], [0.5, 1.0]], [[0.3, 0.0], [0.0, 0.6]], [[0.5, -0.2], [-0.2, 0.4]]])


def mixture_moments() -> tuple[np.ndarray, np.ndarray]:
    mean = WEIGHTS @ MEANS
    second = np.einsum("k,kij->ij", WEIGHTS, COVARIANCES + np.einsum("ki,kj->kij", MEANS, MEANS))
    return mean, second - np.outer(mean, mean)


def identity_encoder_vae() -> VAEModule:
    """A VAE on 2-pixel 'images' whose posterior mean is the image itself (sigma = 0.1): its aggregate
    posterior means are the data."""
    torch.manual_seed(0)
    vae = VAEModule(partial(MLPEncoder, hidden=[]), partial(MLPDecoder, hidden=[8]), image_shape=(1, 1, 2),
                    latent_dim=2)
    with torch.no_grad():
        linear = vae.encoder.net[0]
        linear.weight.zero_()
        linear.weight[:2] = torch.eye(2)
        linear.bias.copy_(torch.tensor([0.0, 0.0, 2 * np.log(0.1), 2 * np.log(0.1)]))
    return vae


def mixture_images(n: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    component = rng.choice(3, size=n, p=WEIGHTS)
    points = np.stack([rng.multivariate_normal(MEANS[k], COVARIANCES[k]) for k in component])
    return torch.tensor(points, dtype=torch.float32).view(n, 1, 1, 2)


def loader(images: torch.Tensor):
    dataset = torch.utils.data.TensorDataset(images, torch.zeros(len(images), dtype=torch.long))
    return torch.utils.data.DataLoader(dataset, batch_size=1000)


def latents_drawn_by_sample(vae: VAEModule, n: int, sampler: str) -> np.ndarray:
    drawn = []
    hook = vae.decoder.register_forward_hook(lambda net, inputs, output: drawn.append(inputs[0]))
    vae.sample(n, sampler=sampler)
    hook.remove()
    return torch.cat(drawn).double().numpy()  # sample() decodes in chunks (zoo.base.CHUNK)


@pytest.mark.slow
def test_gmm_sampler_reproduces_a_known_mixture():
    vae = identity_encoder_vae()
    vae.fit_sampler(loader(mixture_images(20_000)), "gmm", num_components=3)
    torch.manual_seed(0)
    z = latents_drawn_by_sample(vae, 200_000, "gmm")
    mean, covariance = mixture_moments()
    np.testing.assert_allclose(z.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(z.T), covariance, atol=0.1)
    fitted = vae.samplers["gmm"]
    order = np.argsort(fitted.means[:, 0].numpy() + 0.1 * fitted.means[:, 1].numpy())  # as MEANS: by x, then y
    np.testing.assert_allclose(fitted.weights.numpy()[order], WEIGHTS[[0, 2, 1]], atol=0.02)
    np.testing.assert_allclose(fitted.means.numpy()[order], MEANS[[0, 2, 1]], atol=0.05)


@pytest.mark.parametrize("kind, options", [("gmm", {"num_components": 3}),
                                           ("two_stage", {"hidden": [16], "steps": 20})])
def test_fitted_sampler_travels_in_the_weights_folder(tmp_path, kind, options):
    vae = identity_encoder_vae()
    vae.fit_sampler(loader(mixture_images(500)), kind, **options)
    vae.hparams.sampler = kind  # the default of sample()
    folders.save_folder(vae.eval(), tmp_path)
    loaded = folders.load_folder(tmp_path)
    for name, value in vae.samplers.state_dict().items():
        torch.testing.assert_close(loaded.samplers.state_dict()[name], value, rtol=0, atol=0)
    torch.manual_seed(0)
    expected = vae.sample(8)
    torch.manual_seed(0)
    torch.testing.assert_close(loaded.sample(8), expected, rtol=0, atol=0)


def test_sampling_from_an_unfitted_sampler_says_what_to_do():
    with pytest.raises(ValueError, match=r"no 'gmm' sampler has been fitted: call fit_sampler"):
        identity_encoder_vae().sample(2, sampler="gmm")
