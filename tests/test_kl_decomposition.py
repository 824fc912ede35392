"""beta-TCVAE's split of the KL (Chen et al. 2018) against direct numpy/scipy computations on small batches."""

import math
from functools import partial
from pathlib import Path

import lightning
import numpy as np
import pytest
import torch
import yaml
from scipy.stats import norm

from zoo import VAEModule
from zoo.data import Digits
from zoo.distributions import diagonal_gaussian, gaussian_prior
from zoo.distributions.kl_decomposition import kl_decomposition, log_aggregate_posterior
from zoo.errors import InputError
from zoo.modules.vae_objective import VAEObjective
from zoo.nets import MLPDecoder, MLPEncoder

REPO = Path(__file__).resolve().parent.parent

M, L, N = 6, 3, 50  # minibatch, latent dimensions, data set size


def small_batch(seed: int = 0):
    """Posteriors q(z|x_k) (M, L) and one sample z_i ~ q(z|x_i) each, in float64."""
    generator = torch.Generator().manual_seed(seed)
    mean = torch.randn(M, L, generator=generator, dtype=torch.float64)
    std = 0.5 + torch.rand(M, L, generator=generator, dtype=torch.float64)
    z = mean + std * torch.randn(M, L, generator=generator, dtype=torch.float64)
    return mean, std, z


def posterior_of(mean, std):
    return diagonal_gaussian(torch.cat([mean, (2 * std.log())], dim=-1))


def numpy_log_aggregate(mean, std, z, dataset_size):
    """log (1 / (N M)) sum_k q(z_i | x_k) and, per dimension, log (1 / (N M)) sum_k q(z_ij | x_k), by loops."""
    mean, std, z = mean.numpy(), std.numpy(), z.numpy()
    joint, marginals = np.empty(M), np.empty((M, L))
    for i in range(M):
        joint[i] = np.log(sum(np.prod(norm.pdf(z[i], mean[k], std[k])) for k in range(M)) / (dataset_size * M))
        for j in range(L):
            marginals[i, j] = np.log(sum(norm.pdf(z[i, j], mean[k, j], std[k, j]) for k in range(M)) /
                                     (dataset_size * M))
    return joint, marginals


def test_the_minibatch_weighted_estimate_of_log_q_z_matches_a_direct_sum():
    mean, std, z = small_batch()
    joint, marginals = log_aggregate_posterior(z, posterior_of(mean, std).base_dist, N)
    want_joint, want_marginals = numpy_log_aggregate(mean, std, z, N)
    np.testing.assert_allclose(joint.numpy(), want_joint, rtol=0, atol=1e-10)
    np.testing.assert_allclose(marginals.numpy(), want_marginals, rtol=0, atol=1e-10)


def test_the_three_terms_add_up_to_the_minibatch_kl_estimate_and_match_their_definitions():
    mean, std, z = small_batch(1)
    terms = kl_decomposition(z, posterior_of(mean, std), gaussian_prior(L, dtype=torch.float64), N)
    log_q_given_x = norm.logpdf(z.numpy(), mean.numpy(), std.numpy()).sum(1)  # (M,)
    log_p = norm.logpdf(z.numpy()).sum(1)
    log_q, log_q_marginals = numpy_log_aggregate(mean, std, z, N)
    want = {"mutual_information": (log_q_given_x - log_q).mean(),
            "total_correlation": (log_q - log_q_marginals.sum(1)).mean(),
            "dimension_wise_kl": (log_q_marginals.sum(1) - log_p).mean()}
    for name, value in want.items():
        assert float(getattr(terms, name)) == pytest.approx(value, abs=1e-10), name
    assert float(sum(terms)) == pytest.approx((log_q_given_x - log_p).mean(), abs=1e-10)


def test_leading_sample_dimensions_are_averaged():
    mean, std, z = small_batch(2)
    other = small_batch(3)[2]
    posterior, prior = posterior_of(mean, std), gaussian_prior(L, dtype=torch.float64)
    both = kl_decomposition(torch.stack([z, other]), posterior, prior, N)  # (2, M, L)
    one, two = kl_decomposition(z, posterior, prior, N), kl_decomposition(other, posterior, prior, N)
    for got, first, second in zip(both, one, two, strict=True):
        assert float(got) == pytest.approx(float(first + second) / 2, abs=1e-12)


def test_a_data_set_smaller_than_the_minibatch_is_refused():
    mean, std, z = small_batch()
    with pytest.raises(InputError, match="data set's size N = 3 is below the minibatch's 6"):
        kl_decomposition(z, posterior_of(mean, std), gaussian_prior(L, dtype=torch.float64), 3)


# --- the VAEModule option ----------------------------------------------------------------------------------------
def losses_from_the_same_samples(module_kwargs: dict, x: torch.Tensor, seed: int = 0):
    """The step's loss and logs of a VAEModule with `module_kwargs`, and of its plain twin (the same weights),
    both drawing z with the same seed, in float64."""
    torch.manual_seed(0)
    module = VAEModule(latent_dim=L, **module_kwargs).double().eval()
    plain = VAEModule(latent_dim=L).double().eval()
    plain.load_state_dict(module.state_dict())
    results = []
    for model in (module, plain):
        torch.manual_seed(seed)
        loss, logs, _, _ = model.step((x, torch.zeros(len(x))))
        results.append((loss, logs))
    torch.manual_seed(seed)
    posterior = module._encode(x, None)
    z = posterior.rsample((1,))[0]  # the step's draw: the first random numbers after the seed
    return results, posterior.mean.detach(), posterior.stddev.detach(), z.detach()


def test_the_module_loss_weighs_the_three_terms_by_alpha_beta_gamma():
    x = torch.rand(M, 1, 28, 28, generator=torch.Generator().manual_seed(4)).round().double()
    weights = (0.5, 6.0, 2.0)
    ((loss, logs), (plain_loss, plain_logs)), mean, std, z = losses_from_the_same_samples(
        {"objective": VAEObjective(tc_weights=weights, dataset_size=N)}, x)
    log_q_given_x = norm.logpdf(z.numpy(), mean.numpy(), std.numpy()).sum(1)
    log_p = norm.logpdf(z.numpy()).sum(1)
    log_q, log_q_marginals = numpy_log_aggregate(mean, std, z, N)
    terms = [(log_q_given_x - log_q).mean(), (log_q - log_q_marginals.sum(1)).mean(),
             (log_q_marginals.sum(1) - log_p).mean()]
    reconstruction = float(plain_logs["reconstruction"])  # the same z, so the same log p(x|z)
    assert float(logs["reconstruction"]) == pytest.approx(reconstruction, abs=1e-9)
    want = -reconstruction + sum(w * t for w, t in zip(weights, terms, strict=True))
    assert float(loss) == pytest.approx(want, abs=1e-8)
    assert float(logs["total_correlation"]) == pytest.approx(terms[1], abs=1e-9)
    assert float(logs["elbo"]) == pytest.approx(float(plain_logs["elbo"]), abs=1e-9)  # the logged ELBO: beta = 1


def test_with_unit_weights_the_loss_is_the_elbo_with_the_sampled_kl_in_place_of_the_closed_form():
    x = torch.rand(M, 1, 28, 28, generator=torch.Generator().manual_seed(5)).round().double()
    ((loss, _), (plain_loss, _)), mean, std, z = losses_from_the_same_samples(
        {"objective": VAEObjective(tc_weights=(1.0, 1.0, 1.0), dataset_size=N)}, x)
    mean, std, z = mean.numpy(), std.numpy(), z.numpy()
    sampled_kl = (norm.logpdf(z, mean, std).sum(1) - norm.logpdf(z).sum(1)).mean()
    closed_form_kl = (0.5 * (mean**2 + std**2 - 1) - np.log(std)).sum(1).mean()
    assert float(loss - plain_loss) == pytest.approx(sampled_kl - closed_form_kl, abs=1e-8)


def test_the_data_set_size_is_read_from_the_training_split_at_fit(tmp_path):
    module = VAEModule(latent_dim=2, objective=VAEObjective(tc_weights=(1.0, 6.0, 1.0)))
    data = Digits(batch_size=32)
    trainer = lightning.Trainer(max_steps=1, limit_val_batches=0, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, default_root_dir=tmp_path)
    trainer.fit(module, data)
    assert module.objective.dataset_size == module.hparams.objective["dataset_size"] == len(data.train_set) \
        == 1797 - 297 - 200


@pytest.mark.parametrize("options, message", [
    ({"objective": {"tc_weights": (1.0, 6.0)}}, "three weights >= 0"),
    ({"objective": {"tc_weights": (1.0, -1.0, 1.0)}}, "three weights >= 0"),
    ({"objective": {"tc_weights": (1.0, 6.0, 1.0), "beta": 4.0}}, "leave beta=1"),
    ({"objective": {"tc_weights": (1.0, 6.0, 1.0)}, "prior": {"kind": "vamp", "num_pseudo_inputs": 3}}, "factorises"),
    ({"objective": {"tc_weights": (1.0, 6.0, 1.0), "bound": "iwae", "num_samples": 2}}, "bound='elbo'"),
])
def test_options_that_do_not_go_with_the_split_kl_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        VAEModule(latent_dim=2, **options)


def test_with_alike_posteriors_the_weighted_estimate_is_log_q_z_given_x_minus_log_n():
    """q(z|x_k) all the same: the sum over the batch is M q(z|x), so MWS gives log q(z|x) - log N exactly."""
    _, _, z = small_batch()
    alike = posterior_of(torch.zeros(M, L, dtype=torch.float64), torch.ones(M, L, dtype=torch.float64))
    joint, marginals = log_aggregate_posterior(z, alike.base_dist, N)
    np.testing.assert_allclose(joint.numpy(), norm.logpdf(z.numpy()).sum(1) - math.log(N), rtol=0, atol=1e-12)
    np.testing.assert_allclose(marginals.numpy(), norm.logpdf(z.numpy()) - math.log(N), rtol=0, atol=1e-12)


def uniform_square_codes(angle: float, batch: int, generator: torch.Generator):
    """Posteriors N(R u, 0.1^2 I) at unit-variance uniform factors u, rotated by `angle`, and one sample each."""
    u = (torch.rand(batch, 2, generator=generator, dtype=torch.float64) * 2 - 1) * math.sqrt(3)
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
                            dtype=torch.float64)
    mean, std = u @ rotation.T, torch.full((batch, 2), 0.1, dtype=torch.float64)
    return posterior_of(mean, std), mean + std * torch.randn(batch, 2, generator=generator, dtype=torch.float64)


def test_the_total_correlation_estimate_tells_a_rotated_code_from_an_axis_aligned_one():
    """The signal beta-TCVAE trains on: two independent factors read off two latents (TC about 0) or mixed by a
    45-degree rotation. The exact TC gap is that of a uniform square: the rotated marginals are triangular, with
    entropy 1/2 + log sqrt 6 against log sqrt 12, so 2 (1/2 + log sqrt 6 - log sqrt 12) = 1 - log 2 = 0.307 nats
    (a little less with the posteriors' noise). MWS at the recipe's batch of 256 must see most of it."""
    generator, gaps = torch.Generator().manual_seed(0), []
    for _ in range(20):
        tc = {}
        for angle in (0.0, math.pi / 4):
            posterior, z = uniform_square_codes(angle, 256, generator)
            prior = gaussian_prior(2, dtype=torch.float64)
            tc[angle] = kl_decomposition(z, posterior, prior, 737_280).total_correlation
        gaps.append(tc[math.pi / 4] - tc[0.0])
    assert 0.15 < float(torch.stack(gaps).mean()) < 1 - math.log(2) + 0.02


def test_the_sprites_recipes_build_the_authors_networks_and_differ_only_in_the_kl_weights():
    """rtqichen/beta-tcvae's vae_quant.py defaults: MLPEncoder 4096-1200-1200-2z (ReLU), MLPDecoder
    z-1200-1200-1200-4096 (tanh), z = 10, Adam 1e-3; the plain twin has the same networks, data and schedule."""
    recipes = {name: yaml.safe_load((REPO / f"configs/vae/{name}.yaml").read_text())
               for name in ("beta_tcvae_sprites", "vae_sprites")}
    init = recipes["beta_tcvae_sprites"]["model"]["init_args"]
    model = VAEModule(latent_dim=init["latent_dim"], objective={**init["objective"], "dataset_size": 737_280},
                      image_shape=(1, 64, 64),
                      encoder=partial(MLPEncoder, **init["encoder"]["init_args"]),
                      decoder=partial(MLPDecoder, **init["decoder"]["init_args"]))
    layers = [(m.in_features, m.out_features) for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert layers == [(4096, 1200), (1200, 1200), (1200, 20)]
    assert [type(m).__name__ for m in model.encoder.net if not isinstance(m, torch.nn.Linear)] == ["ReLU"] * 2
    layers = [(m.in_features, m.out_features) for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)]
    assert layers == [(10, 1200), (1200, 1200), (1200, 1200), (1200, 4096)]
    assert [type(m).__name__ for m in model.decoder.net if not isinstance(m, torch.nn.Linear)] == ["Tanh"] * 3
    assert init["optimizer"]["init_args"]["lr"] == 1e-3 and init["objective"]["tc_weights"] == [1.0, 6.0, 1.0]
    plain = recipes["vae_sprites"]
    assert plain["model"]["init_args"]["objective"] == {"beta": 1.0}  # the plain KL
    for recipe in recipes.values():
        recipe["model"]["init_args"].pop("objective")
    assert plain["model"] == recipes["beta_tcvae_sprites"]["model"]
    assert (plain["data"], plain["trainer"]) == (recipes["beta_tcvae_sprites"]["data"],
                                                 recipes["beta_tcvae_sprites"]["trainer"])
