"""GANModule mechanics: alternating steps, counters, objectives, EMA, conditioning, checkpoints."""

import copy
from functools import partial

import lightning as L
import pytest
import torch

from zoo import GANModule
from zoo.data import ToyMixture
from zoo.modules.auxiliary import InfoGANHead
from zoo.modules.gan import ema_decay_at
from zoo.modules.gan_losses import GANObjective
from zoo.nets import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder


def toy_gan(**kwargs) -> GANModule:
    torch.manual_seed(0)
    defaults = {"generator": partial(MLPDecoder, hidden=[16]), "discriminator": partial(MLPEncoder, hidden=[16]),
                "image_shape": (2,), "latent_dim": 2, "output_activation": "identity"}
    return GANModule(**{**defaults, **kwargs})


def fit(gan, steps: int, tmp_path=None, **trainer_kwargs) -> L.Trainer:
    trainer = L.Trainer(max_steps=steps, limit_val_batches=0, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False,
                        default_root_dir=tmp_path or "runs/tests", **trainer_kwargs)
    trainer.fit(gan, ToyMixture("ring", num_train=4000, batch_size=100))
    return trainer


@pytest.mark.parametrize("objective", ["minimax", "non_saturating", "hinge", "wasserstein", "least_squares"])
def test_every_objective_trains_both_players(objective):
    gan = toy_gan(objective=GANObjective(objective, gradient_penalty=1.0 if objective == "wasserstein" else 0.0))
    g_before = [p.clone() for p in gan.generator.parameters()]
    d_before = [p.clone() for p in gan.discriminator.parameters()]
    trainer = fit(gan, steps=6)
    moved = lambda before, net: sum((a - b).abs().sum() for a, b in zip(before, net.parameters(), strict=True))  # noqa: E731
    assert moved(g_before, gan.generator) > 0 and moved(d_before, gan.discriminator) > 0
    assert torch.isfinite(trainer.callback_metrics["train/d_loss_epoch"])


@pytest.mark.parametrize("n_critic", [1, 5])
def test_generator_iterations_count_generator_steps_not_optimizer_steps(n_critic):
    gan = toy_gan(objective=GANObjective(n_critic=n_critic))
    trainer = fit(gan, steps=40)  # Lightning's global_step counts both players' optimizer steps
    assert int(gan.discriminator_steps) >= 40 * n_critic // (n_critic + 1)
    assert int(gan.generator_iterations) == int(gan.discriminator_steps) // n_critic
    assert trainer.global_step == int(gan.discriminator_steps) + int(gan.generator_iterations)


def test_penalties_are_logged_when_on():
    trainer = fit(toy_gan(objective=GANObjective(gradient_penalty=10.0, r1_gamma=1.0, r1_every=2)), steps=8)
    names = ("gradient_penalty", "r1_penalty", "d_real", "d_fake", "g_loss", "generator_iterations")
    assert {f"train/{name}_epoch" for name in names} <= set(trainer.callback_metrics)


def test_ema_generator_follows_the_generator_and_is_used_for_samples():
    gan = toy_gan(ema_decay=0.9)
    fit(gan, steps=20)
    ema, live = gan.generator_ema.module, gan.generator
    assert not torch.equal(next(ema.parameters()), next(live.parameters()))
    z = torch.randn(4, 2)
    torch.testing.assert_close(gan.sample(4, z=z), ema(z))


def test_sample_with_ema_false_draws_from_the_trained_generator():
    gan = toy_gan(ema_decay=0.9)
    fit(gan, steps=20)
    z = torch.randn(4, 2)
    torch.testing.assert_close(gan.sample(4, z=z, ema=False), gan.generator(z))
    assert not torch.allclose(gan.sample(4, z=z, ema=False), gan.sample(4, z=z))
    assert torch.equal(toy_gan().sample(4, z=z, ema=True), toy_gan().generator(z))  # no EMA: the generator


def test_the_ema_decay_warms_up_as_min_of_decay_and_1_plus_t_over_10_plus_t():
    assert ema_decay_at(0.999, 0) == pytest.approx(0.1)
    assert ema_decay_at(0.999, 90) == pytest.approx(0.91)
    assert ema_decay_at(0.999, 9_000) == pytest.approx(0.999)  # 9001 / 9010 > 0.999
    assert ema_decay_at(0.999, 8_000) == pytest.approx(8_001 / 8_010)


def test_the_ema_over_six_generator_iterations_matches_a_hand_computation():
    class Record(L.Callback):
        weights, averages = [], []

        def on_train_batch_end(self, trainer, gan, *args):  # n_critic = 1: one generator iteration per batch
            self.weights.append([p.detach().clone() for p in gan.generator.parameters()])
            self.averages.append([p.detach().clone() for p in gan.generator_ema.module.parameters()])

    fit(toy_gan(ema_decay=0.3), steps=12, callbacks=[Record()])  # 6 generator iterations (t = 0..5)
    w = Record.weights
    # iteration 0 is copied; then decay_t = min(0.3, (1 + t) / (10 + t)): 2/11, 3/12, then 0.3 (4/13 > 0.3)
    expected = w[0]
    for t, decay in enumerate([None, 2 / 11, 3 / 12, 0.3, 0.3, 0.3]):
        if decay is not None:
            expected = [decay * e + (1 - decay) * wt for e, wt in zip(expected, w[t], strict=True)]
        for ema, hand in zip(Record.averages[t], expected, strict=True):
            torch.testing.assert_close(ema, hand, msg=f"generator iteration {t}")


def test_lr_scheduler_steps_once_per_generator_iteration():
    gan = toy_gan(objective=GANObjective(n_critic=2),
                  lr_scheduler=partial(torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5))
    trainer = fit(gan, steps=9)
    d_optimizer, g_optimizer = trainer.optimizers
    expected = 1e-3 * 0.5 ** int(gan.generator_iterations)
    assert g_optimizer.param_groups[0]["lr"] == pytest.approx(expected)


def test_pac_packs_samples_for_the_discriminator():
    gan = toy_gan(pac=4)
    assert gan.discriminate(torch.randn(8, 2)).shape == (2,)
    with pytest.raises(ValueError, match="multiple of pac=4"):
        gan.discriminate(torch.randn(6, 2))
    fit(gan, steps=4)


def test_conditional_gan_draws_the_asked_class():
    gan = GANModule(partial(ConvDecoder, base_channels=8), partial(ConvEncoder, base_channels=8, norm="none",
                    spectral_norm=True), image_shape=(1, 28, 28), latent_dim=8, num_classes=10)
    x, labels = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    assert gan.discriminate(x, labels).shape == (4,)
    z = torch.zeros(2, 8)
    assert not torch.allclose(gan.sample(2, torch.tensor([0, 0]), z), gan.sample(2, torch.tensor([5, 5]), z))


@pytest.mark.parametrize("n", [20, 23, 7])
def test_a_conditional_gan_given_no_labels_draws_each_class_equally_often(n):
    gan = toy_gan(num_classes=10)
    drawn = []
    gan.generator.register_forward_pre_hook(lambda net, inputs: drawn.append(inputs[1]))
    assert gan.sample(n).shape == (n, 2)
    counts = torch.bincount(drawn[0], minlength=10)
    assert sorted(counts.tolist()) == [n // 10] * (10 - n % 10) + [n // 10 + 1] * (n % 10)


@pytest.mark.parametrize("bad, message", [
    ({"objective": {"n_critic": 0}}, "n_critic must be >= 1"),
    ({"objective": "wgan"}, "loss must be one of"),
    ({"ema_decay": 1.5}, "ema_decay must lie in"),
    ({"pac": 2, "num_classes": 3}, "PacGAN packing"),
])
def test_out_of_range_hyperparameters_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        toy_gan(**bad)


def test_checkpoint_restores_optimizers_counter_and_ema(tmp_path):
    gan = toy_gan(ema_decay=0.95, objective=GANObjective(n_critic=2))
    trainer = fit(gan, steps=12, tmp_path=tmp_path)
    path = tmp_path / "gan.ckpt"
    trainer.save_checkpoint(path)
    loaded = GANModule.load_from_checkpoint(path, weights_only=True)
    assert int(loaded.generator_iterations) == int(gan.generator_iterations) > 0
    for a, b in zip(loaded.generator_ema.parameters(), gan.generator_ema.parameters(), strict=True):
        assert torch.equal(a, b)
    # resuming puts both optimizers' states back
    resumed = toy_gan(ema_decay=0.95, objective=GANObjective(n_critic=2))
    trainer2 = L.Trainer(max_steps=14, limit_val_batches=0, logger=False, enable_progress_bar=False,
                         enable_checkpointing=False, default_root_dir=tmp_path)
    trainer2.fit(resumed, ToyMixture("ring", num_train=4000, batch_size=100), ckpt_path=path)
    saved = torch.load(path, weights_only=True)["optimizer_states"]
    assert len(saved) == 2 and all(state["state"] for state in saved)
    assert int(resumed.generator_iterations) == int(gan.generator_iterations) + 1


def test_infogan_categories_feed_the_generator_a_random_category():
    gan = toy_gan(head=partial(InfoGANHead, categories=4))
    assert gan.generator.num_classes == 4 and gan.hparams.num_classes == 0
    torch.manual_seed(0)
    z = torch.zeros(200, 2)
    points = gan.sample(200, z=z)  # same noise, random categories: at most 4 distinct points
    assert 1 < len(torch.unique(points.round(decimals=5), dim=0)) <= 4
    fit(gan, steps=4)
    with pytest.raises(ValueError, match="InfoGANHead: InfoGAN's categorical code stands in for a label"):
        toy_gan(head=partial(InfoGANHead, categories=3), num_classes=2)


def test_the_ema_generator_samples_with_batch_norm_statistics_of_its_own_weights():
    gan = GANModule(partial(ConvDecoder, base_channels=8), partial(ConvEncoder, base_channels=8), latent_dim=8,
                    ema_decay=0.5)
    with torch.no_grad():
        for _ in range(4):  # running statistics of the trained generator
            gan.generator(torch.randn(64, 8))
        for parameter in gan.generator.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
        gan.generator_ema.update_parameters(gan.generator)  # EMA weights: neither the old nor the new ones
    z = torch.randn(4096, 8)
    expected = torch.sigmoid(copy.deepcopy(gan.generator_ema.module).train()(z))  # its own batch statistics
    gan.eval()  # as in `lightning test`: running statistics
    rng = torch.get_rng_state()
    got = gan.sample(len(z), z=z)
    assert torch.equal(torch.get_rng_state(), rng)  # the statistics' noise has a seed of its own
    assert (got - expected).abs().max() < 0.05
    with torch.no_grad():
        for parameter in gan.generator.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
        gan.generator_ema.update_parameters(gan.generator)  # weights moved (buffers copied from G): statistics follow
    moved = gan.sample(len(z), z=z)
    assert (moved - got).abs().max() > 0.05
    assert (moved - torch.sigmoid(copy.deepcopy(gan.generator_ema.module).train()(z))).abs().max() < 0.05


def test_the_ema_generators_standing_statistics_are_its_population_statistics_within_sampling_error():
    """A batch-norm mean estimated from N samples is off by sigma / sqrt(N) per unit: over 256 units the largest
    error is about 3 sigma / sqrt(N): 0.13 sigma from 512 samples, 0.03 from 8,192. The 512 the EMA generator's
    statistics were computed from cost r3gan.mnist's samples 4 FID points (8.2 against 4.2)."""
    gan = GANModule(partial(MLPDecoder, hidden=[256], batch_norm=True), partial(MLPEncoder, hidden=[16]),
                    image_shape=(1, 4, 4), latent_dim=8, ema_decay=0.5)
    batch_norm = gan.generator_ema.module.net[1]
    gan.recompute_ema_statistics(batches=64, batch_size=2048)
    population = batch_norm.running_mean.clone(), batch_norm.running_var.clone()
    gan.ema_statistics_of.fill_(-1)
    gan.sample(1)  # as a user's first call: the default statistics
    mean_error = ((batch_norm.running_mean - population[0]) / population[1].sqrt()).abs().max()
    var_error = (batch_norm.running_var / population[1] - 1).abs().max()
    assert mean_error < 0.06 and var_error < 0.08, (mean_error, var_error)


def test_a_discriminator_with_dropout_is_in_expectation_its_eval_network():
    """Inverted dropout: each hidden unit is zeroed with probability p and the rest scaled by 1 / (1 - p), so the mean
    of many training-mode passes is the evaluation-mode output when a linear layer follows (the last one)."""
    torch.manual_seed(0)
    net = MLPEncoder((1, 4, 4), 1, hidden=[32], activation="LeakyReLU", dropout=0.3)
    x = torch.rand(8, 1, 4, 4)
    with torch.no_grad():
        expected = net.eval()(x)
        passes = torch.stack([net.train()(x) for _ in range(4000)])
    assert not torch.equal(passes[0], passes[1])
    standard_error = passes.std(0) / 4000 ** 0.5
    assert ((passes.mean(0) - expected).abs() < 4 * standard_error).all()
    assert sum(isinstance(layer, torch.nn.Dropout) for layer in net.net) == 1


def test_the_ema_generators_statistics_are_stored_with_its_weights(tmp_path, monkeypatch):
    """Loading a weights folder whose EMA statistics were computed for its weights does not recompute them (thousands
    of samples); a file written before they were stored does, and the two sample alike."""
    from safetensors.torch import load_file, save_file

    from zoo.hub.folders import WEIGHTS, load_folder, save_folder

    gan = GANModule(partial(MLPDecoder, hidden=[32], batch_norm=True), partial(MLPEncoder, hidden=[16]),
                    image_shape=(1, 4, 4), latent_dim=8, ema_decay=0.5)
    gan.generator_ema.update_parameters(gan.generator)
    z = torch.randn(8, 8)
    save_folder(gan, tmp_path)  # computes them first
    expected = gan.eval().sample(8, z=z)
    recomputed = []
    monkeypatch.setattr(GANModule, "recompute_ema_statistics", lambda self, *a, **k: recomputed.append(1))
    assert torch.equal(load_folder(tmp_path).eval().sample(8, z=z), expected) and not recomputed
    older = {k: v for k, v in load_file(tmp_path / WEIGHTS).items() if k != "ema_statistics_of"}
    save_file(older, tmp_path / WEIGHTS)
    load_folder(tmp_path).sample(8, z=z)
    assert recomputed == [1]
