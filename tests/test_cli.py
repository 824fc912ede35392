"""The `lightning` command: every recipe fits, checkpoints reload, images are written."""

import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from tests.conftest import REPO
from zoo import VAEModule
from zoo.callbacks import ImageGrids
from zoo.cli.denormals import flushing
from zoo.cli.lightning_cli import main
from zoo.data import Digits

RECIPES = sorted((REPO / "configs").glob("*/*.yaml"))


def data_overrides(recipe: Path, mnist_root, folder_root) -> list[str]:
    """Point the recipe at data made in the test: MNIST-like IDX files, or image folders of the same size."""
    text = recipe.read_text()
    if "zoo.data.MNIST" in text or "zoo.data.FashionMNIST" in text:
        subset = ["--data.train_size", "100"] if "train_size" in text else []  # the fake MNIST has 256 images
        return ["--data.root", str(mnist_root), "--data.download", "false", "--data.val_size", "56", *subset]
    if "zoo.data.StackedMNIST" in text:
        return ["--data.root", str(mnist_root), "--data.download", "false", "--data.num_train", "512",
                "--data.val_size", "64", "--data.test_size", "64"]
    if "zoo.data.CIFAR10" in text:
        return ["--data", "zoo.data.ImageFolder", "--data.root", str(folder_root[32]), "--data.image_size", "32",
                "--data.val_size", "4", "--data.test_size", "4", "--data.num_workers", "0"]
    if "zoo.data.CelebA" in text:
        return ["--data", "zoo.data.ImageFolder", "--data.root", str(folder_root[64]), "--data.image_size", "64",
                "--data.val_size", "4", "--data.test_size", "4", "--data.num_workers", "0"]
    return []


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_every_recipe_fits_with_fast_dev_run(recipe, mnist_root, folder_root, tmp_path):
    # the compiled path has its own tests (test_fast_path.py); compiling here would cost 10-20 s per recipe
    eager = ["--model.compile", "false"] if "\n    compile: true" in recipe.read_text() else []
    cli = main(["fit", "--config", str(recipe), "--trainer.fast_dev_run=true", *eager,
                "--trainer.default_root_dir", str(tmp_path), *data_overrides(recipe, mnist_root, folder_root)])
    assert cli.trainer.state.finished
    assert not any(torch.isnan(value) for value in cli.trainer.callback_metrics.values())


def test_console_script_runs_the_readme_main_job(tmp_path):
    result = subprocess.run(["lightning", "fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"),
                             "--trainer.fast_dev_run=true", "--trainer.default_root_dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_python_dash_m_zoo_offers_the_four_subcommands():
    result = subprocess.run([sys.executable, "-m", "zoo", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in ("fit", "validate", "test", "predict"):
        assert command in result.stdout


def test_mistyped_config_key_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--model.init_args.latent_dimm", "3"])
    assert "latent_dimm" in capsys.readouterr().err


def test_a_network_too_small_for_the_data_fails_before_training(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"ConvEncoder takes square 28x28, 32x32 or 64x64 images; the data has shape"):
        main(["fit", "--config", str(REPO / "configs/vae/conv_mnist_gaussian.yaml"), "--data", "zoo.data.Digits",
              "--data.image_size", "16", "--trainer.fast_dev_run=true", "--trainer.default_root_dir", str(tmp_path)])


def test_cli_checkpoint_reloads_to_identical_outputs_and_tests(tmp_path):
    common = ["--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--trainer.default_root_dir", str(tmp_path)]
    fit = main(["fit", *common, "--trainer.max_steps", "5", "--trainer.limit_val_batches", "1",
                "--trainer.logger", "false", "--model.test_nll.num_samples", "7"])
    checkpoint = fit.trainer.checkpoint_callback.last_model_path
    loaded = VAEModule.load_from_checkpoint(checkpoint, weights_only=True)
    trained = fit.model.eval()
    x = torch.rand(4, 1, 28, 28).round()
    torch.testing.assert_close(loaded.eval().reconstruct(x), trained.reconstruct(x), rtol=0, atol=0)
    test = main(["test", *common, "--ckpt_path", checkpoint, "--model.test_nll.num_samples", "20",
                 "--trainer.limit_test_batches", "1", "--trainer.logger", "false"])
    assert test.model.test_nll.num_samples == 20  # the command line's, over the checkpoint's
    metrics = test.trainer.callback_metrics
    for name in ("test/elbo", "test/nll", "test/bits_per_dim", "test/mse", "test/psnr", "test/ssim"):
        assert torch.isfinite(metrics[name]), name
    assert metrics["test/nll"] <= -metrics["test/elbo"] + 5  # IS-NLL is at most -ELBO, up to noise


class ImageRecordingLogger(CSVLogger):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.images = []

    def log_image(self, key, images, step=None, **kwargs):
        self.images.append((key, images[0].shape, kwargs.get("caption")))


def test_image_grids_are_saved_and_logged(tmp_path):
    logger = ImageRecordingLogger(tmp_path)
    trainer = L.Trainer(max_epochs=2, limit_train_batches=2, limit_val_batches=1, logger=logger,
                        callbacks=[ImageGrids(num_samples=16)], enable_checkpointing=False,
                        enable_progress_bar=False, default_root_dir=tmp_path)
    trainer.fit(VAEModule(latent_dim=4), Digits(batch_size=16))
    images = sorted(path.name for path in Path(trainer.log_dir, "images").glob("*.png"))
    assert images == [f"{kind}_epoch={epoch:03d}.png" for kind in ("interpolations", "reconstructions", "samples")
                      for epoch in (0, 1)]
    keys = [key for key, _, _ in logger.images]
    assert keys.count("images/samples") == 2 and "images/reconstructions" in keys
    assert "epoch 1" in logger.images[-1][2][0]


def test_a_run_stopped_between_validations_still_leaves_the_grids_of_its_last_weights(tmp_path):
    trainer = L.Trainer(max_steps=3, limit_val_batches=1, logger=CSVLogger(tmp_path), callbacks=[ImageGrids(16)],
                        enable_checkpointing=False, enable_progress_bar=False, num_sanity_val_steps=0)
    trainer.fit(VAEModule(latent_dim=4), Digits(batch_size=16))  # stops in epoch 0, before any validation
    images = sorted(path.name for path in Path(trainer.log_dir, "images").glob("*.png"))
    assert images == ["samples_step=000003.png"]  # no validation batch: no reconstructions to draw


def test_lightning_fit_flushes_denormals_on_every_thread(tmp_path):
    """An fp32 step slows by half once gradients and Adam's moments hold denormals (benchmarks/denormal_speed.py); the
    mode is per thread and OpenMP's threads take it from the thread that starts them, so `lightning fit` must set it
    before torch starts its thread pool, not in a callback."""
    out = tmp_path / "flushed.txt"
    result = subprocess.run([sys.executable, "-m", "zoo", "fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"),
                             "--trainer.fast_dev_run=true", "--trainer.default_root_dir", str(tmp_path),
                             "--trainer.callbacks+=tests.denormal_probe.DenormalProbe", "--trainer.callbacks.out",
                             str(out)], capture_output=True, text=True, timeout=300, cwd=REPO,
                            env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(out.read_text()) == 1.0


def test_a_script_calling_main_has_its_denormal_mode_back_afterwards(tmp_path):
    out = tmp_path / "flushed.txt"
    main(["fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--trainer.fast_dev_run=true",
          "--trainer.default_root_dir", str(tmp_path), "--trainer.callbacks+=tests.denormal_probe.DenormalProbe",
          "--trainer.callbacks.out", str(out)])
    assert float(out.read_text()) > 0  # flushed during the run, on the main thread at least
    assert not flushing()


def test_the_progress_bar_redraws_every_ten_batches_and_can_still_be_turned_off(tmp_path):
    """Redrawing Lightning's bar after every batch cost 1.4 ms of an 8 ms step at two threads
    (benchmarks/results/fit_overheads.json)."""
    common = ["fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--trainer.fast_dev_run=true",
              "--trainer.default_root_dir", str(tmp_path)]
    assert main(common).trainer.progress_bar_callback.refresh_rate == 10
    assert main([*common, "--trainer.enable_progress_bar", "false"]).trainer.progress_bar_callback is None
    given = main([*common, "--trainer.callbacks+=lightning.pytorch.callbacks.TQDMProgressBar",
                  "--trainer.callbacks.refresh_rate", "3"]).trainer.progress_bar_callback
    assert given.refresh_rate == 3
