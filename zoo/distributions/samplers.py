"""Ex-post samplers: a density fitted after training to a VAE's aggregate posterior, sampled in place of p(z).

- "gmm": a Gaussian mixture (scikit-learn, full covariances) fitted to the posterior means E[z|x] of the
  training images (Ghosh et al. 2020, "From variational to deterministic autoencoders").
- "two_stage": a second, small VAE trained on z ~ q(z|x), whose prior draws u ~ N(0, I) are decoded into
  z (Dai & Wipf 2019, "Diagnosing and enhancing VAE models"); its Gaussian decoder learns one global sigma
  (their gamma), which lets it match the first stage's aggregate posterior closely.

Each is an `nn.Module` built from (latent_dim, **options); its fitted state is buffers and parameters, so it
travels in the VAE's weights file, and its options go into the VAE's `ex_post_samplers` hyper-parameter,
which rebuilds it (unfitted) before the weights are loaded.
"""

import torch
from torch import nn
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal, kl_divergence

from zoo.distributions import GaussianLikelihood, diagonal_gaussian, gaussian_prior
from zoo.nets.mlp import mlp


class GaussianMixtureSampler(nn.Module):
    def __init__(self, latent_dim: int, num_components: int = 10, seed: int = 0):
        super().__init__()
        self.seed = seed
        self.register_buffer("weights", torch.full((num_components,), 1 / num_components))  # (M,)
        self.register_buffer("means", torch.zeros(num_components, latent_dim))  # (M, L)
        self.register_buffer("scale_tril", torch.eye(latent_dim).repeat(num_components, 1, 1))  # (M, L, L)

    def fit(self, means: torch.Tensor, stds: torch.Tensor) -> None:
        from sklearn.mixture import GaussianMixture  # when used: scikit-learn loads an OpenMP runtime of its own

        gmm = GaussianMixture(len(self.weights), covariance_type="full", random_state=self.seed)
        gmm.fit(means.double().cpu().numpy())
        for buffer, fitted in [(self.weights, gmm.weights_), (self.means, gmm.means_),
                               (self.scale_tril, torch.linalg.cholesky(torch.from_numpy(gmm.covariances_)))]:
            buffer.copy_(torch.as_tensor(fitted))

    def distribution(self) -> MixtureSameFamily:
        components = MultivariateNormal(self.means, scale_tril=self.scale_tril)
        return MixtureSameFamily(Categorical(probs=self.weights), components)

    def sample(self, n: int) -> torch.Tensor:
        return self.distribution().sample((n,))


class TwoStageSampler(nn.Module):
    def __init__(self, latent_dim: int, hidden: list[int] = [512, 512], steps: int = 10_000,  # noqa: B006
                 batch_size: int = 256, lr: float = 1e-3, seed: int = 0):
        super().__init__()
        self.steps, self.batch_size, self.lr, self.seed = steps, batch_size, lr, seed
        self.encoder = mlp([latent_dim, *hidden, 2 * latent_dim], "ReLU")  # q(u|z)
        self.decoder = mlp([latent_dim, *hidden, latent_dim], "ReLU")  # mean of p(z|u)
        self.likelihood = GaussianLikelihood((latent_dim,), sigma=1.0, learn_sigma="global")

    def elbo(self, z: torch.Tensor) -> torch.Tensor:
        q = diagonal_gaussian(self.encoder(z))
        prior = gaussian_prior(z.shape[-1], device=z.device, dtype=z.dtype)
        return self.likelihood(self.decoder(q.rsample())).log_prob(z) - kl_divergence(q, prior)

    def fit(self, means: torch.Tensor, stds: torch.Tensor) -> None:
        """Train on fresh draws z ~ q(z|x) = N(means, stds^2) of the training images, on the ELBO."""
        generator = torch.Generator(device=means.device).manual_seed(self.seed)
        optimizer = torch.optim.Adam(self.parameters(), lr=self.lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, self.steps)
        with torch.enable_grad():
            for _ in range(self.steps):
                i = torch.randint(len(means), (self.batch_size,), generator=generator, device=means.device)
                z = means[i] + stds[i] * torch.randn(stds[i].shape, generator=generator, device=means.device)
                loss = -self.elbo(z).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()

    def sample(self, n: int) -> torch.Tensor:
        u = torch.randn(n, self.decoder[0].in_features, device=self.likelihood.log_sigma.device)
        return self.decoder(u)


SAMPLERS = {"gmm": GaussianMixtureSampler, "two_stage": TwoStageSampler}


def build_sampler(kind: str, latent_dim: int, **options) -> nn.Module:
    if kind not in SAMPLERS:
        raise ValueError(f"unknown ex-post sampler {kind!r}: choose one of {sorted(SAMPLERS)}")
    return SAMPLERS[kind](latent_dim, **options)
