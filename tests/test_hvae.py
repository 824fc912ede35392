"""Tomczak & Welling's two-level VAE (hierarchy="top_down"): q(z2|x) q(z1|x, z2), p(z2) p(z1|z2) p(x|z1, z2).

The shipped hvae_vamp.mnist was Burda et al.'s stacked form, whose decoder sees only z1: its top layer died (no
active z2 unit), so its VampPrior did nothing. These tests pin the cause: the decoder must depend on z2, the
objective must be the ELBO of the five densities, and the shipped model must use its top layer."""

from functools import partial

import pytest
import torch
import yaml
from torch.distributions import Bernoulli, Independent, Normal

import zoo
from zoo import VAEModule
from zoo.hub.recipes import CONFIGS
from zoo.modules.vae_prior import VAEPrior
from zoo.nets import MLPDecoder, MLPEncoder


def two_level(hierarchy: str, kind: str = "gaussian", num_pseudo_inputs: int = 500) -> VAEModule:
    torch.manual_seed(0)
    return VAEModule(encoder=partial(MLPEncoder, hidden=[16], activation="Gated"),
                     decoder=partial(MLPDecoder, hidden=[16], activation="Gated"), image_shape=(1, 6, 6),
                     latent_dim=3, prior=VAEPrior(kind, num_pseudo_inputs=num_pseudo_inputs, top_latent_dim=2,
                                                  top_hidden=[8], top_activation="Gated", hierarchy=hierarchy)).double()


@pytest.mark.parametrize("hierarchy, depends", [("top_down", True), ("bottom_up", False)])
def test_only_the_top_down_decoder_sees_z2(hierarchy, depends):
    vae = two_level(hierarchy)
    z = torch.randn(4, 5, dtype=torch.float64)
    other = z.clone()
    other[:, 3:] += 2.0  # z2 moved, z1 kept
    moved = (vae.decode(z).mean - vae.decode(other).mean).abs().max().item()
    assert (moved > 1e-3) == depends, moved


def gaussian(params: torch.Tensor) -> Independent:
    mu, log_var = params.chunk(2, -1)
    return Independent(Normal(mu, (0.5 * log_var).exp()), 1)


@pytest.mark.parametrize("prior", ["gaussian", "vamp"])
def test_the_top_down_elbo_is_the_sum_of_its_five_log_densities(prior):
    vae = two_level("top_down", prior, num_pseudo_inputs=4)
    x = torch.bernoulli(torch.full((5, 1, 6, 6), 0.3, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    torch.manual_seed(7)
    _, logs, _, _ = vae.step((x, None), beta=1.0)

    torch.manual_seed(7)  # replay: z2 ~ q(z2|x), then z1 ~ q(z1|x, z2), each as mu + sigma * eps
    q2 = gaussian(vae.encoder(x, None))
    z2 = q2.mean + q2.stddev * torch.randn(1, 5, 2, dtype=torch.float64)
    q1 = gaussian(vae.top_encoder(x, z2))
    z1 = q1.mean + q1.stddev * torch.randn(1, 5, 3, dtype=torch.float64)
    log_px = Independent(Bernoulli(logits=vae.decoder(torch.cat([z1, z2], -1)[0], None)), 3).log_prob(x)
    if prior == "vamp":  # (1/K) sum_k q(z2 | u_k)
        components = gaussian(vae.encoder(vae.pseudo_inputs, None))
        log_p2 = torch.logsumexp(components.log_prob(z2[0][:, None]), -1) - torch.log(torch.tensor(4.0))
    else:
        log_p2 = Independent(Normal(torch.zeros(2), torch.ones(2)), 1).log_prob(z2[0])
    log_p1 = gaussian(vae.top_decoder(z2[0])).log_prob(z1[0])
    elbo = log_px + log_p1 + log_p2 - q1.log_prob(z1)[0] - q2.log_prob(z2)[0]
    assert logs["elbo"].item() == pytest.approx(elbo.mean().item(), rel=1e-8)  # the mixture sums in float64


def test_the_recipe_is_tomczak_and_wellings_hvae():
    init = yaml.safe_load((CONFIGS / "vae/hvae_vamp_mnist.yaml").read_text())["model"]["init_args"]
    prior, objective = init["prior"], init["objective"]
    assert prior["hierarchy"] == "top_down" and prior["kind"] == "vamp" and prior["num_pseudo_inputs"] == 500
    assert objective["bound"] == "elbo" and objective["kl_warmup_steps"] > 0  # the paper: the ELBO with warm-up
    assert init["encoder"]["init_args"]["activation"] == prior["top_activation"] == "Gated"


def digits(n: int = 500) -> torch.Tensor:
    """Binarised digits without the data set: the shipped class-conditional GAN's samples, every class alike."""
    torch.manual_seed(0)
    return torch.bernoulli(zoo.load_pretrained("cgan.mnist").sample(n, labels=torch.arange(n) % 10))


def test_the_shipped_hvae_uses_its_top_layer():
    vae = zoo.load_pretrained("hvae_vamp.mnist")
    x = digits()
    with torch.no_grad():
        means = vae.encode(x).mean  # (B, z1 + z2)
    z2_active = (means[:, vae.hparams.latent_dim:].var(0) > 0.01).sum().item()
    assert z2_active >= 5, f"{z2_active} of {vae.prior_options.top_latent_dim} z2 units active"
