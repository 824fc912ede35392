"""VAEModule: bounds, estimators, gradients, options, errors and checkpoints."""

import gc
import math
import warnings
import weakref
from functools import partial

import lightning as L
import pytest
import torch

from zoo import VAEModule
from zoo.distributions import GaussianLikelihood
from zoo.metrics.likelihood import NLLEstimate, bits_per_dim, importance_sampled_log_likelihood
from zoo.modules.compile import CompileFallbackWarning
from zoo.modules.vae_objective import VAEObjective
from zoo.nets import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder


def small_vae(**kwargs) -> VAEModule:
    torch.manual_seed(0)
    defaults = dict(encoder=partial(MLPEncoder, hidden=[32]), decoder=partial(MLPDecoder, hidden=[32]),
                    image_shape=(1, 8, 8), latent_dim=4)
    return VAEModule(**{**defaults, **kwargs})


def binary_images(n=16, shape=(1, 8, 8), seed=0):
    return torch.bernoulli(torch.full((n, *shape), 0.3), generator=torch.Generator().manual_seed(seed))


def test_encode_and_decode_return_distributions():
    vae, x = small_vae(), binary_images()
    q = vae.encode(x)
    assert q.batch_shape == (16,) and q.event_shape == (4,)
    z = q.rsample((3,))
    p = vae.decode(z)
    assert p.batch_shape == (3, 16) and p.event_shape == (1, 8, 8)
    assert p.log_prob(x).shape == (3, 16)
    assert vae.sample(5).shape == (5, 1, 8, 8)
    assert vae.reconstruct(x).shape == x.shape
    assert vae.interpolate(x[0], x[1], steps=7).shape == (7, 1, 8, 8)


def test_iwae_bound_is_at_least_the_elbo():
    vae, x = small_vae(), binary_images(64)
    _, logs, _, _ = vae.step((x, None))
    torch.manual_seed(0)
    log_w = vae.log_importance_weights(x, None, vae.encode(x), 50)  # (k, B)
    iwae = torch.logsumexp(log_w, 0) - math.log(50)
    assert torch.all(iwae >= log_w.mean(0))  # Jensen, sample by sample
    assert iwae.mean() > logs["elbo"]  # and above the closed-form-KL ELBO on average


def test_importance_sampled_nll_tightens_as_k_grows():
    vae, x = small_vae(), binary_images(64)
    torch.manual_seed(0)
    estimates = [importance_sampled_log_likelihood(vae, x, None, k).mean().item() for k in (1, 10, 100, 1000)]
    assert estimates == sorted(estimates), estimates
    assert estimates[-1] - estimates[0] > 0.1


def test_nll_chunks_bound_memory_without_changing_the_estimate(monkeypatch):
    vae, x = small_vae(), binary_images(8)
    torch.manual_seed(0)
    whole = importance_sampled_log_likelihood(vae, x, None, 2000)
    monkeypatch.setattr("zoo.metrics.likelihood.CHUNK_ELEMENTS", 64 * 8 * 8)  # 8 samples per chunk
    torch.manual_seed(0)  # the same noise, drawn 8 samples at a time
    chunked = importance_sampled_log_likelihood(vae, x, None, 2000)
    torch.testing.assert_close(whole, chunked, atol=1e-4, rtol=0)


@pytest.mark.parametrize("options", [{}, {"objective": {"bound": "iwae", "num_samples": 5}},
                                     {"objective": {"free_bits": 0.5}}])
def test_gradients_reach_the_encoder(options):
    vae = small_vae(**options)
    loss, _, _, _ = vae.step((binary_images(), None))
    loss.backward()
    for name, parameter in vae.encoder.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_beta_warms_up_linearly():
    vae = small_vae(objective=VAEObjective(beta=4.0, kl_warmup_steps=10))
    trainer = L.Trainer(logger=False, enable_checkpointing=False)
    vae.trainer = trainer
    assert vae.beta_now() == pytest.approx(0.4)  # step 0 of 10
    trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress.total.completed = 4
    trainer.fit_loop.epoch_loop.automatic_optimization.optim_progress.optimizer.step.total.completed = 4
    assert vae.beta_now() == pytest.approx(2.0)
    trainer.fit_loop.epoch_loop.automatic_optimization.optim_progress.optimizer.step.total.completed = 50
    assert vae.beta_now() == pytest.approx(4.0)


def test_free_bits_hold_the_kl_term_at_its_floor():
    vae, x = small_vae(objective=VAEObjective(free_bits=2.0)), binary_images()
    loss, logs, _, _ = vae.step((x, None))
    # a fresh encoder's KL per dimension is far below 2 nats, so each of the 4 dimensions counts 2
    assert loss.item() == pytest.approx(-(logs["reconstruction"].item() - 4 * 2.0), rel=1e-5)


def test_conditional_vae_uses_labels_and_asks_for_them():
    vae = small_vae(num_classes=3)
    x, labels = binary_images(6), torch.tensor([0, 1, 2, 0, 1, 2])
    loss, _, _, _ = vae.step((x, labels))
    assert torch.isfinite(loss)
    samples = [vae.sample(1, labels=torch.tensor([c]), z=torch.zeros(1, 4)) for c in range(3)]
    assert not torch.allclose(samples[0], samples[1])
    assert vae.sample(2).shape == (2, 1, 8, 8)  # given no labels, balanced ones (issue 24)
    with pytest.raises(ValueError, match="class-conditional.*pass labels"):
        vae.reconstruct(x)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        vae.sample(1, labels=torch.tensor([5]))


@pytest.mark.parametrize("bad, message", [
    ({"objective": {"beta": -1.0}}, "beta must be >= 0"),
    ({"objective": {"num_samples": 0}}, r"num_samples \(k\) must be >= 1"),
    ({"test_nll": {"num_samples": 0}}, r"num_samples \(k\) must be >= 1"),
    ({"prior": {"scale": 0.0}}, "VAEPrior: scale must be > 0"),
    ({"objective": {"bound": "iwae", "beta": 2.0}}, "IWAE bound has no KL term"),
    ({"latent_dim": 0}, "latent_dim must be >= 1"),
])
def test_out_of_range_hyperparameters_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        small_vae(**bad)


def test_a_network_that_cannot_take_the_shape_fails_at_set_up():
    with pytest.raises(ValueError, match="ConvEncoder takes square 28x28, 32x32 or 64x64"):
        VAEModule(ConvEncoder, ConvDecoder, image_shape=(3, 48, 48))
    class WrongDecoder(MLPDecoder):
        def forward(self, z, labels=None):
            return super().forward(z, labels)[..., :-1]
    with pytest.raises(ValueError, match=r"WrongDecoder maps \(2, 4\) to \(2, 1, 8, 7\)"):
        small_vae(decoder=partial(WrongDecoder, hidden=[8]))


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3), (64, 3)])
def test_conv_vae_at_every_supported_size_has_the_closed_form_kl_and_learns(size, channels):
    torch.manual_seed(0)
    vae = VAEModule(partial(ConvEncoder, base_channels=8), partial(ConvDecoder, base_channels=8),
                    image_shape=(channels, size, size), latent_dim=4)
    x = torch.rand(4, channels, size, size).round()
    assert vae.reconstruct(x).shape == x.shape
    q = vae.encode(x)
    kl = 0.5 * (q.mean ** 2 + q.stddev ** 2 - 1 - 2 * q.stddev.log()).sum(1).mean()  # KL(N(mu, s^2) || N(0, I))
    loss, logs, _, _ = vae.step((x, None))
    torch.testing.assert_close(logs["kl"], kl, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(loss, -logs["elbo"])  # beta = 1: the loss is the negative ELBO
    torch.testing.assert_close(logs["elbo"], logs["reconstruction"] - kl)
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-2)
    for _ in range(30):
        optimizer.zero_grad()
        vae.step((x, None))[0].backward()
        optimizer.step()
    with torch.no_grad():
        assert vae.step((x, None))[0] < 0.95 * loss  # it fits the batch: the nets are wired to the image size


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    vae = small_vae(num_classes=2)
    trainer = L.Trainer(logger=False, enable_checkpointing=False, max_epochs=0)
    trainer.strategy.connect(vae)
    trainer.save_checkpoint(tmp_path / "vae.ckpt")
    loaded = VAEModule.load_from_checkpoint(tmp_path / "vae.ckpt")
    x, labels = binary_images(4), torch.tensor([0, 1, 0, 1])
    vae.eval(), loaded.eval()
    torch.testing.assert_close(loaded.reconstruct(x, labels), vae.reconstruct(x, labels), rtol=0, atol=0)
    torch.testing.assert_close(loaded.encode(x, labels).stddev, vae.encode(x, labels).stddev, rtol=0, atol=0)
    torch.testing.assert_close(loaded.fixed_noise, vae.fixed_noise)


def test_training_logs_reach_the_logger_on_its_cadence_and_as_epoch_means(tmp_path):
    from lightning.pytorch.loggers import CSVLogger

    from zoo.data import Digits

    trainer = L.Trainer(max_epochs=1, limit_train_batches=8, limit_val_batches=1, log_every_n_steps=4,
                        logger=CSVLogger(tmp_path), enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(VAEModule(latent_dim=4), Digits(batch_size=16))
    import csv

    rows = list(csv.DictReader(open(f"{trainer.log_dir}/metrics.csv")))
    steps = [int(r["step"]) for r in rows if r.get("train/elbo")]
    assert steps == [3, 7]  # every 4th batch, as the Trainer writes
    epoch = [float(r["train/elbo_epoch"]) for r in rows if r.get("train/elbo_epoch")]
    assert len(epoch) == 1 and epoch[0] < 0


@pytest.mark.slow
def test_compiled_importance_sampled_nll_matches_the_eager_one_and_lets_the_vae_go():
    vae = VAEModule(partial(MLPEncoder, hidden=[32]), partial(MLPDecoder, hidden=[32]), image_shape=(1, 8, 8),
                    latent_dim=4).eval()
    x = torch.rand(3, 1, 8, 8).round()
    estimates = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompileFallbackWarning)  # whatever pyproject's filters say
        for compile in (False, True):
            torch.manual_seed(0)
            estimates.append(importance_sampled_log_likelihood(vae, x, num_samples=50, compile=compile))
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, CompileFallbackWarning)]
    assert not fallbacks, f"torch.compile fell back to eager, so eager was compared with itself: {fallbacks}"
    torch.testing.assert_close(estimates[1], estimates[0], rtol=1e-5, atol=1e-4)
    # the compiled-likelihood cache must not keep the VAE alive
    alive = weakref.ref(vae)
    del vae
    gc.collect()
    assert alive() is None, "the VAE outlived its last reference: something (the compile cache?) still holds it"


def test_bits_per_dim_by_hand():
    dims = 784
    # Bernoulli with p = 1/2 for every pixel: one bit per pixel
    assert float(bits_per_dim(torch.tensor(dims * math.log(2)), dims)) == pytest.approx(1.0)
    # a uniform density on [0, 1]^D (nll 0): each of the 256^D 8-bit images has probability 256^-D, 8 bits/dim
    assert float(bits_per_dim(torch.tensor(0.0), dims, levels=256)) == pytest.approx(8.0)
    # a density of 2 on [0, 1/2]^D (nll -D ln 2): the images in that half of each range, 2 * 256^-D each, 7 bits
    assert float(bits_per_dim(torch.tensor(-dims * math.log(2)), dims, levels=256)) == pytest.approx(7.0)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_lightning_test_reports_bits_per_dim_for_the_likelihood_kind(likelihood):
    from zoo.data import Digits

    extra = {"likelihood": partial(GaussianLikelihood, sigma=0.1)} if likelihood == "gaussian" else {}
    vae = small_vae(image_shape=(1, 28, 28), test_nll=NLLEstimate(num_samples=4), **extra)
    trainer = L.Trainer(limit_test_batches=2, logger=False, enable_progress_bar=False, enable_model_summary=False)
    metrics = trainer.test(vae, Digits(batch_size=16), verbose=False)[0]
    dims, nll = 28 * 28, metrics["test/nll"]
    expected = nll / (dims * math.log(2)) + (8 if likelihood == "gaussian" else 0)  # + log2(256): dequantised
    assert metrics["test/bits_per_dim"] == pytest.approx(expected, rel=1e-5)
    assert ("ln 256" in vae.test_protocol["bits_per_dim"]) == (likelihood == "gaussian")
