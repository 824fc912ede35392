"""Faults and bad input: each a clear error, nothing overwritten; SIGTERM saves; bf16 on CPU trains."""

import math
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from functools import partial

import lightning as L
import pytest
import torch

from tests.conftest import REPO
from zoo import GANModule, VAEModule
from zoo.cli.lightning_cli import main
from zoo.data import Digits, ToyMixture
from zoo.hub import folders
from zoo.nets import MLPDecoder, MLPEncoder


class PoisonAt(L.Callback):
    """Sets one weight of `net` to NaN just before global step `step`."""

    def __init__(self, step: int, net: str):
        self.step, self.net = step, net

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            with torch.no_grad():
                next(getattr(pl_module, self.net).parameters()).view(-1)[0] = float("nan")


def train_until_nan(module, data, net: str, tmp_path):
    checkpoints = L.pytorch.callbacks.ModelCheckpoint(dirpath=tmp_path, every_n_train_steps=1, save_last=True)
    trainer = L.Trainer(max_steps=20, callbacks=[checkpoints, PoisonAt(4, net)], logger=False,
                        enable_progress_bar=False, limit_val_batches=0, default_root_dir=tmp_path)
    with pytest.raises(FloatingPointError) as error:
        trainer.fit(module, data)
    last = torch.load(tmp_path / "last.ckpt", weights_only=True)
    return str(error.value), last


@pytest.mark.slow  # trains, or runs the command in a subprocess
def test_a_nan_in_the_vae_stops_training_naming_step_and_term_and_keeps_the_last_checkpoint(tmp_path):
    vae = VAEModule(partial(MLPEncoder, hidden=[16]), partial(MLPDecoder, hidden=[16]), latent_dim=2)
    message, last = train_until_nan(vae, Digits(batch_size=32), "decoder", tmp_path)
    assert re.search(r"VAEModule: non-finite reconstruction = nan.* at global step 4", message)
    assert "kl =" not in message  # the encoder is fine: only the decoder's term is named
    assert last["global_step"] == 4
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())


@pytest.mark.slow  # trains, or runs the command in a subprocess
def test_a_nan_in_the_discriminator_stops_the_gan_naming_the_d_loss(tmp_path):
    gan = GANModule(partial(MLPDecoder, hidden=[16]), partial(MLPEncoder, hidden=[16]), image_shape=(2,),
                    latent_dim=2, output_activation="identity")
    message, last = train_until_nan(gan, ToyMixture("ring", num_train=2000, batch_size=100), "discriminator",
                                    tmp_path)
    assert re.search(r"GANModule: non-finite d_loss = nan.* at global step 4", message)
    assert all(torch.isfinite(v.float()).all() for v in last["state_dict"].values())


class WeightsAtBatchStart(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.generator = {k: v.clone() for k, v in pl_module.generator.state_dict().items()}
        self.discriminator = {k: v.clone() for k, v in pl_module.discriminator.state_dict().items()}


@pytest.mark.slow  # trains, or runs the command in a subprocess
def test_a_nan_in_g_loss_stops_the_gan_after_the_discriminator_step_and_before_the_generator_step(monkeypatch):
    import zoo.modules.gan_losses

    calls, generator_loss = [], zoo.modules.gan_losses.generator_loss

    def nan_on_third_call(fake_logits, objective, real_logits=None):
        calls.append(1)
        loss = generator_loss(fake_logits, objective, real_logits)
        return loss * float("nan") if len(calls) == 3 else loss

    monkeypatch.setattr(zoo.modules.gan_losses, "generator_loss", nan_on_third_call)
    gan = GANModule(partial(MLPDecoder, hidden=[16]), partial(MLPEncoder, hidden=[16]), image_shape=(2,),
                    latent_dim=2, output_activation="identity")
    weights = WeightsAtBatchStart()
    trainer = L.Trainer(max_steps=20, callbacks=[weights], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, limit_val_batches=0)
    with pytest.raises(FloatingPointError) as error:
        trainer.fit(gan, ToyMixture("ring", num_train=2000, batch_size=100))
    message = str(error.value)
    assert re.search(r"GANModule: non-finite g_loss = nan.* at global step 5", message)  # 2 optimizer steps a batch
    assert "the discriminator's step of this iteration, taken before g_loss, was applied" in message
    for name, before in weights.generator.items():
        assert torch.equal(gan.generator.state_dict()[name], before), f"the generator's {name} changed"
    changed = [name for name, before in weights.discriminator.items()
               if not torch.equal(gan.discriminator.state_dict()[name], before)]
    assert changed, "the message says the discriminator stepped, but none of its weights changed"


@pytest.fixture(scope="module")
def vae_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vae")
    fit = main(["fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--trainer.default_root_dir",
                str(folder), "--trainer.max_steps", "2", "--trainer.limit_val_batches", "1",
                "--trainer.logger", "false"])
    return fit.trainer.checkpoint_callback.last_model_path


@pytest.mark.slow  # trains, or runs the command in a subprocess
def test_a_truncated_checkpoint_is_reported_as_such(vae_checkpoint, tmp_path):
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(open(vae_checkpoint, "rb").read()[:5000])
    with pytest.raises(folders.WeightsError, match="truncated or corrupted"):
        VAEModule.load_from_checkpoint(broken, weights_only=True)
    with pytest.raises(folders.WeightsError, match="truncated or corrupted"):
        main(["test", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--ckpt_path", str(broken)])


@pytest.mark.slow  # trains, or runs the command in a subprocess
def test_a_checkpoint_of_the_other_module_kind_is_refused(vae_checkpoint):
    with pytest.raises(folders.WeightsError, match="is a zoo.VAEModule checkpoint, not a zoo.GANModule one"):
        GANModule.load_from_checkpoint(vae_checkpoint, weights_only=True)
    with pytest.raises(folders.WeightsError, match="is a zoo.VAEModule checkpoint"):
        main(["test", "--config", str(REPO / "configs/gan/dcgan_mnist.yaml"), "--ckpt_path", vae_checkpoint])


def test_a_checkpoint_with_pickled_code_is_not_unpickled(tmp_path):
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"x": print}}, evil)
    with pytest.raises(folders.WeightsError, match="not unpickled"):
        VAEModule.load_from_checkpoint(evil)


def test_a_conditional_vae_without_labels_says_so_where_it_needs_them():  # sample() draws balanced ones (issue 24)
    cvae = VAEModule(MLPEncoder, MLPDecoder, num_classes=10, latent_dim=4)
    assert cvae.sample(3).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match=r"class-conditional \(num_classes=10\): pass labels"):
        cvae.reconstruct(torch.rand(3, 1, 28, 28))


@pytest.mark.parametrize("module, kwargs, message", [
    (VAEModule, {"objective": {"beta": -1.0}}, "beta must be >= 0, got -1.0"),
    (VAEModule, {"objective": {"num_samples": 0}}, r"num_samples \(k\) must be >= 1, got 0"),
    (VAEModule, {"test_nll": {"num_samples": 0}}, r"NLLEstimate: num_samples \(k\) must be >= 1, got 0"),
    (GANModule, {"objective": {"n_critic": 0}}, "n_critic must be >= 1, got 0"),
    (GANModule, {"ema_decay": 1.5}, r"ema_decay must lie in \(0, 1\), got 1.5"),
])
def test_out_of_range_hyperparameters_are_named(module, kwargs, message):
    with pytest.raises(ValueError, match=message):
        module(**kwargs)


def test_every_torch_load_in_the_project_is_weights_only():
    calls = []
    for path in [*REPO.glob("zoo/**/*.py"), *REPO.glob("benchmarks/*.py"), REPO / "hubconf.py"]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "torch.load(" in line:
                calls.append((path.name, number, "weights_only=True" in line))
    assert calls and all(ok for *_, ok in calls), calls


@pytest.mark.slow  # trains, or runs the command in a subprocess
def test_sigterm_during_training_writes_a_checkpoint_at_that_step(tmp_path):
    command = [sys.executable, "-m", "zoo", "fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"),
               "--data.batch_size", "1", "--trainer.max_epochs", "1000", "--trainer.logger", "false",
               "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in process.stdout:  # wait until training has started
        if "Modules in eval mode" in line or "Total params" in line:
            break
    time.sleep(4)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    last = list(tmp_path.rglob("last.ckpt"))
    assert len(last) == 1, output[-2000:]
    checkpoint = torch.load(last[0], weights_only=True)
    assert checkpoint["global_step"] % 1300 != 0  # mid-epoch (1,300 steps an epoch): only the SIGTERM wrote it
    assert f"saved {last[0]}" in output.replace("\n", "")


class FirstEpochMetrics(L.Callback):
    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == 1:  # epoch 0's logs are in by now
            self.metrics = {k: v.clone() for k, v in trainer.callback_metrics.items()}


@pytest.mark.slow  # trains, or runs the command in a subprocess
@pytest.mark.parametrize("recipe", ["configs/vae/mlp_digits.yaml", "configs/gan/gan_mlp_mnist.yaml"])
def test_bf16_mixed_precision_on_cpu_trains_with_finite_falling_losses(recipe, tmp_path, mnist_root):
    data = ["--data.root", str(mnist_root), "--data.val_size", "56"] if "mnist" in recipe else []
    fit = main(["fit", "--config", str(REPO / recipe), *data, "--trainer.precision", "bf16-mixed",
                "--trainer.max_epochs", "4", "--trainer.limit_val_batches", "1", "--trainer.logger", "false",
                "--trainer.default_root_dir", str(tmp_path), "--seed_everything", "0",
                "--trainer.callbacks+=tests.test_faults.FirstEpochMetrics"])
    first = next(c for c in fit.trainer.callbacks if isinstance(c, FirstEpochMetrics))
    assert fit.trainer.precision == "bf16-mixed"
    last = fit.trainer.callback_metrics
    if "vae" in recipe:
        assert torch.isfinite(last["train/loss_epoch"]) and last["train/loss_epoch"] < first.metrics["train/loss_epoch"]
    else:
        assert torch.isfinite(last["train/d_loss_epoch"]) and torch.isfinite(last["train/g_loss_epoch"])
        assert first.metrics["train/d_loss_epoch"] < 2 * math.log(2)  # D beats chance (log 4) from the start


def assert_same_weights(got, expected) -> None:
    """Bit for bit: the same parameters and buffers (EMA weights, counters) at the end of both runs."""
    got, expected = got.model.state_dict(), expected.model.state_dict()
    assert got.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0, atol=0, msg=name)


class SigtermAt(L.Callback):
    """Sends this process SIGTERM, as a cluster's scheduler would, before the training batch `batch_idx` of `epoch`."""

    def __init__(self, epoch: int, batch_idx: int):
        self.epoch, self.batch_idx = epoch, batch_idx

    signal_number = signal.SIGTERM

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch_idx):
            os.kill(os.getpid(), self.signal_number)


class SigkillAt(SigtermAt):
    """Kills this process outright (SIGKILL: no handler runs, nothing is saved) before a training batch."""

    signal_number = signal.SIGKILL


def resume_args(recipe: str, mnist_root) -> list[str]:
    """The recipe, with every piece of state a resume must restore: the KL warm-up position (VAE); the EMA weights,
    both schedulers and the generator-iteration counter (GAN); the data order and the random generators (both)."""
    if "mnist" in recipe:
        extra = ["--data.root", str(mnist_root), "--data.val_size", "56", "--model.ema_decay", "0.9",
                 "--model.lr_scheduler.class_path", "torch.optim.lr_scheduler.ExponentialLR",
                 "--model.lr_scheduler.init_args.gamma", "0.8"]
    else:
        extra = ["--model.objective.kl_warmup_steps", "10"]
    return ["--config", str(REPO / recipe), *extra, "--trainer.limit_train_batches", "4",
            "--trainer.limit_val_batches", "1", "--trainer.logger", "false", "--seed_everything", "0",
            "--trainer.deterministic", "true"]


@pytest.mark.slow  # trains, or runs the command in a subprocess
@pytest.mark.parametrize("recipe", ["configs/vae/mlp_digits.yaml", "configs/gan/wgan_gp_mnist.yaml"])
@pytest.mark.parametrize("stop", ["epoch_end", "sigterm_mid_epoch"])
def test_a_run_resumed_from_its_last_checkpoint_ends_with_the_same_weights(recipe, stop, tmp_path, mnist_root):
    common = resume_args(recipe, mnist_root)
    straight = main(["fit", *common, "--trainer.max_epochs", "3", "--trainer.default_root_dir", str(tmp_path / "a")])
    if stop == "epoch_end":
        main(["fit", *common, "--trainer.max_epochs", "2", "--trainer.default_root_dir", str(tmp_path / "b")])
    else:
        with pytest.raises(SystemExit):
            main(["fit", *common, "--trainer.max_epochs", "3", "--trainer.default_root_dir", str(tmp_path / "b"),
                  "--trainer.callbacks+=tests.test_faults.SigtermAt",
                  "--trainer.callbacks.epoch", "1", "--trainer.callbacks.batch_idx", "2"])
    last = next((tmp_path / "b").rglob("last.ckpt"))
    checkpoint = torch.load(last, weights_only=True)
    data_state = next(v for k, v in checkpoint.items() if isinstance(v, dict) and "shuffle_generator" in v)
    if "gan" in recipe:
        assert len(checkpoint["lr_schedulers"]) == 2 and checkpoint["state_dict"]["generator_iterations"] > 0
        assert any(k.startswith("generator_ema.") for k in checkpoint["state_dict"])
    if stop == "epoch_end":
        assert checkpoint["epoch"] == 1 and "unfinished_epoch" not in data_state
    else:  # the signal came before batch 2 of epoch 1; Lightning finishes that batch, then stops
        assert checkpoint["epoch"] == 1 and data_state["unfinished_epoch"]["batches_done"] == 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = main(["fit", *common, "--trainer.max_epochs", "3", "--trainer.default_root_dir", str(tmp_path / "b"),
                        "--ckpt_path", str(last)])
    assert not [w for w in caught if "not resumable" in str(w.message)]  # Lightning's mid-epoch warning is moot
    assert_same_weights(resumed, straight)


@pytest.mark.slow  # trains, or runs the command in a subprocess
def test_a_run_killed_with_sigkill_resumes_from_its_last_step_checkpoint_to_the_same_weights(tmp_path, mnist_root):
    common = resume_args("configs/vae/mlp_digits.yaml", mnist_root)
    straight = main(["fit", *common, "--trainer.max_epochs", "3", "--trainer.default_root_dir", str(tmp_path / "a")])
    killed = subprocess.run(
        [sys.executable, "-m", "zoo", "fit", *common, "--trainer.max_epochs", "3",
         "--trainer.default_root_dir", str(tmp_path / "b"), "--trainer.enable_progress_bar", "false",
         "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
         "--trainer.callbacks.dirpath", str(tmp_path / "steps"), "--trainer.callbacks.every_n_train_steps", "3",
         "--trainer.callbacks.save_last", "true",
         "--trainer.callbacks+=tests.test_faults.SigkillAt", "--trainer.callbacks.epoch", "1",
         "--trainer.callbacks.batch_idx", "3"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    last = tmp_path / "steps" / "last.ckpt"  # step 6: epoch 1 after two of its four batches
    checkpoint = torch.load(last, weights_only=True)
    assert (checkpoint["epoch"], checkpoint["global_step"]) == (1, 6)
    resumed = main(["fit", *common, "--trainer.max_epochs", "3", "--trainer.default_root_dir", str(tmp_path / "b"),
                    "--ckpt_path", str(last)])
    assert_same_weights(resumed, straight)
