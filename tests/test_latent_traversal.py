"""The card's latent traversal of a small VAE (zoo.hub.cards.latent_traversal): each row is sample() at z = 0 with one
latent swept, so the picture is what a user's own call draws."""

import torch

import zoo


def test_a_small_vae_card_traverses_each_latent_through_sample():
    from zoo.hub.cards import latent_traversal

    vae = zoo.load_pretrained("beta_tcvae.sprites")
    (grid,) = latent_traversal(vae, steps=4).values()
    assert grid.shape == (3, 10 * (64 + 2) + 2, 4 * (64 + 2) + 2)  # a row per latent, a column per step
    z = torch.zeros(4, 10)
    z[:, 3] = torch.linspace(-2.5, 2.5, 4)
    torch.testing.assert_close(grid[:, 3 * 66 + 2: 4 * 66, 2: 66], vae.sample(4, z=z)[0].expand(3, -1, -1))
    assert not latent_traversal(zoo.load_pretrained("vae_mlp.mnist"))  # 32 latents: no traversal
