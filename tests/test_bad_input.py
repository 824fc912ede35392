"""Bad input: every known mistake is one line, `error: <message>`, with exit status 2 (the traceback with --debug),
and nothing is silently wrong."""

import json
from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import zoo
from tests.conftest import REPO
from zoo import GANModule, VAEModule
from zoo.cli.commands import main as zoo_command
from zoo.cli.console import console
from zoo.cli.lightning_cli import main, resolve_weights
from zoo.data import Digits
from zoo.errors import InputError, NonFiniteError, UnknownEntryError, WeightsError, debug_requested, one_line_errors
from zoo.hub import folders, migrations, registry
from zoo.nets import MLPDecoder, MLPEncoder

DIGITS = str(REPO / "configs/vae/mlp_digits.yaml")


def one_line_error(run, capsys) -> str:
    """The message of a command that must stop with one line on stderr and exit status 2."""
    with pytest.raises(SystemExit) as exit_status:
        run()
    err = capsys.readouterr().err
    assert exit_status.value.code == 2, err[-2000:]
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: ") and not any("Traceback" in line for line in lines), err[-2000:]
    return lines[-1]


def cli(args: list[str], tmp_path) -> list[str]:
    return [*args, "--trainer.default_root_dir", str(tmp_path), "--trainer.logger", "false"]


@pytest.fixture(scope="module")
def mlp_checkpoint(tmp_path_factory) -> Path:
    """A Lightning checkpoint of the vae_mlp.mnist weights, as `lightning fit` would write it."""
    vae = registry.load_pretrained("vae_mlp.mnist")
    path = tmp_path_factory.mktemp("ckpt") / "last.ckpt"
    torch.save({"state_dict": vae.state_dict(), "hyper_parameters": {"_class_path": "zoo.VAEModule", **vae.hparams},
                "pytorch-lightning_version": L.__version__, "epoch": 0, "global_step": 0,
                "zoo_format_version": migrations.FORMAT_VERSION}, path)
    return path


# --- the command line ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_testing_without_weights_is_refused_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    args = cli(["test", "--config", DIGITS], tmp_path)
    line = one_line_error(partial(console, args), capsys)
    assert "would score an untrained model: pass --ckpt_path" in line and "--weights random" in line
    with pytest.raises(InputError, match="untrained model"):
        console(["--debug", *args])
    monkeypatch.setenv("ZOO_DEBUG", "1")
    with pytest.raises(InputError, match="the message"), one_line_errors(debug_requested([])):
        raise InputError("the message")


def test_a_checkpoint_of_another_architecture_than_the_recipe_is_refused(mlp_checkpoint, tmp_path, capsys):
    line = one_line_error(partial(console, cli(["test", "--config", str(REPO / "configs/vae/conv_mnist_gaussian.yaml"),
                                                "--ckpt_path", str(mlp_checkpoint)], tmp_path)), capsys)
    assert "does not fit the model this recipe builds" in line
    assert "encoder: MLPEncoder vs ConvEncoder" in line and "decoder: MLPDecoder vs ConvDecoder" in line


@pytest.mark.slow
def test_weights_of_another_kind_of_entry_are_refused_naming_its_recipe(tmp_path, capsys):
    line = one_line_error(partial(console, cli(["test", "--config", DIGITS, "--weights", "gan_mlp.mnist"], tmp_path)),
                          capsys)
    assert "--weights gan_mlp.mnist does not fit" in line and "class: GANModule vs VAEModule" in line
    assert "its own recipe is configs/gan/gan_mlp_mnist.yaml" in line
    line = one_line_error(partial(console, cli(["test", "--config", DIGITS, "--weights", "vae_mlp.mnist"], tmp_path)),
                          capsys)  # the same class, other layer sizes and latent size
    assert "latent_dim: 32 vs 16" in line and "[512, 512] vs [256, 256]" in line
    assert f"its own recipe is configs/{registry.get('vae_mlp.mnist').recipe}" in line


def test_files_of_the_wrong_kind_name_the_right_flag(mlp_checkpoint, tmp_path, capsys):
    folder = registry.weights_folder("vae_mlp.mnist")
    with pytest.raises(WeightsError, match="is a Lightning checkpoint: pass it with --ckpt_path, or make a weights "
                                           "folder of it with `zoo export"):
        resolve_weights(str(mlp_checkpoint))
    use_weights = "not a Lightning checkpoint: pass it with --weights"
    with pytest.raises(WeightsError, match=f"is a zoo weights file, {use_weights}"):
        folders.read_checkpoint(folder / folders.WEIGHTS)
    with pytest.raises(WeightsError, match=f"is a zoo weights folder, {use_weights}"):
        VAEModule.load_from_checkpoint(folder)
    with pytest.raises(WeightsError, match=r"is a folder, not a Lightning checkpoint: pass a .ckpt file, such as .*"):
        folders.read_checkpoint(mlp_checkpoint.parent)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(WeightsError, match="is not zoo weights"):
        resolve_weights(str(tmp_path / "notes.txt"))
    weights = str(folder / folders.WEIGHTS)
    line = one_line_error(partial(console, cli(["test", "--config", DIGITS, "--ckpt_path", weights], tmp_path)), capsys)
    assert "not a Lightning checkpoint: pass it with --weights" in line


def test_an_unknown_weights_name_lists_close_matches_first_as_load_pretrained_does():
    with pytest.raises(UnknownEntryError) as from_cli:
        resolve_weights("vae_mlp.mnst")
    with pytest.raises(UnknownEntryError) as from_python:
        zoo.load_pretrained("vae_mlp.mnst")
    for error in (from_cli, from_python):
        message = str(error.value)
        assert "did you mean vae_mlp.mnist or cvae_mlp.mnist or iwae_mlp.mnist? Known entries: vae_mlp.mnist, " \
               "cvae_mlp.mnist, iwae_mlp.mnist, " in message
        assert "wgan_gp.mnist" in message.partition("Known entries:")[2]  # and the rest after them


def test_zoo_list_with_no_match_says_so_and_suggests(capsys):
    line = one_line_error(partial(zoo_command, ["list", "vae_mlp"]), capsys)
    assert "no zoo entry matches 'vae_mlp'" in line and "'vae_mlp*'" in line and "did you mean vae_mlp.mnist" in line


def test_zoo_export_refuses_a_folder_that_is_not_empty_unless_forced(mlp_checkpoint, tmp_path, capsys):
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "README.md").write_text("someone else's model card")
    line = one_line_error(partial(zoo_command, ["export", str(mlp_checkpoint), str(folder)]), capsys)
    assert "is not empty (README.md): export into a new folder, or overwrite its files with --force" in line
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]  # nothing written
    zoo_command(["export", str(mlp_checkpoint), str(folder), "--force"])
    assert folders.sha256_of(folder / folders.WEIGHTS) != "" and (folder / folders.CONFIG).is_file()


def test_an_image_shape_the_data_would_replace_is_refused(tmp_path, capsys):
    line = one_line_error(partial(console, cli(["fit", "--config", DIGITS, "--model.image_shape", "[1, 32, 32]",
                                                "--trainer.fast_dev_run", "true"], tmp_path)), capsys)
    assert "--model.image_shape [1, 32, 32] differs from the data's images [1, 28, 28]" in line


def test_a_mistyped_option_names_the_closest_valid_one(tmp_path, capsys):
    for typo, hint in [("--model.latent_dimm", "zoo.VAEModule has no option 'latent_dimm'; did you mean 'latent_dim'?"),
                       ("--data.batchsize", "zoo.data.Digits has no option 'batchsize'; did you mean 'batch_size'?"),
                       ("--model.encoder.init_args.hiden",
                        "zoo.nets.MLPEncoder has no option 'hiden'; did you mean 'hidden'?"),
                       ("--modle.latent_dim",
                        "unrecognized option --modle.latent_dim; did you mean --model.latent_dim?")]:
        assert one_line_error(partial(console, cli(["fit", "--config", DIGITS, typo, "3"], tmp_path)), capsys) == \
            f"error: {hint}"


def test_missing_data_is_one_line(tmp_path, capsys):
    line = one_line_error(partial(console, cli(["fit", "--config", str(REPO / "configs/vae/mlp_mnist.yaml"),
                                                "--data.root", str(tmp_path / "nowhere"), "--data.download", "false"],
                                               tmp_path)), capsys)
    assert f"MNIST: data not found under root='{tmp_path / 'nowhere'}' (looked for " in line


def test_the_test_report_records_the_weights_and_their_sha256(tmp_path):
    weights = registry.weights_folder("vae_mlp.mnist")
    test = main(cli(["test", "--config", str(REPO / "configs/vae/mlp_mnist_elbo.yaml"), "--weights", "vae_mlp.mnist",
                     "--data", "zoo.data.Digits", "--data.val_size", "100", "--model.test_nll.num_samples", "2",
                     "--trainer.limit_test_batches", "1",
                     "--trainer.callbacks", "[]"], tmp_path))
    report = json.loads((Path(test.trainer.default_root_dir) / "test_results.json").read_text())
    assert report["weights"] == "vae_mlp.mnist" and report["weights_file"] == str(weights / folders.WEIGHTS)
    assert report["sha256"] == {"weights": registry.get("vae_mlp.mnist").sha256[folders.WEIGHTS]}


# --- data the model cannot mean ------------------------------------------------------------------------------------
def small_vae(**kwargs) -> VAEModule:
    return VAEModule(partial(MLPEncoder, hidden=[16]), partial(MLPDecoder, hidden=[16]), latent_dim=4, **kwargs)


def fit_on(module, images: torch.Tensor, tmp_path, steps: int = 4):
    data = DataLoader(TensorDataset(images, torch.zeros(len(images), dtype=torch.long)), batch_size=8)
    trainer = L.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        limit_val_batches=0, default_root_dir=tmp_path)
    trainer.fit(module, data)


def test_a_bernoulli_vae_refuses_data_outside_the_unit_interval(tmp_path):
    normalised = (torch.rand(32, 1, 28, 28) - 0.5) / 0.5  # what transforms.Normalize((0.5,), (0.5,)) gives
    with pytest.raises(InputError, match=r"first training batch: a Bernoulli likelihood models pixels in \[0, 1\], "
                                         r"but these images lie in \[-"):
        fit_on(small_vae(), normalised, tmp_path)
    with pytest.raises(InputError, match=r"encode: a Bernoulli likelihood models pixels in \[0, 1\]"):
        small_vae().encode(normalised)
    gaussian = small_vae(likelihood=zoo.distributions.GaussianLikelihood)
    assert gaussian.reconstruct(normalised).shape == normalised.shape  # a Gaussian likelihood takes any real pixel


def test_nan_in_the_input_batch_is_named_as_such_not_blamed_on_the_learning_rate(tmp_path):
    images = torch.rand(32, 1, 28, 28)
    images[20, 0, 3, 3] = float("nan")  # the third batch of 8: the first batch is clean
    with pytest.raises(NonFiniteError, match=r"VAEModule: the input batch at global step 2 \(epoch 0\) holds 1 NaN/Inf "
                                             r"values of 6272 .*the data is broken, not the learning rate"):
        fit_on(small_vae(), images, tmp_path)
    gan = GANModule(partial(MLPDecoder, hidden=[16]), partial(MLPEncoder, hidden=[16]), latent_dim=4)
    images[20, 0, 3, 3] = float("inf")
    with pytest.raises(NonFiniteError, match=r"GANModule: the input batch at global step 4 .* holds 1 NaN/Inf"):
        fit_on(gan, images, tmp_path, steps=8)  # two optimizer steps per batch


def test_validation_size_zero_with_dynamic_binarisation_trains(tmp_path):
    data = Digits(val_size=0, binarize="dynamic", batch_size=64)
    data.setup("fit")
    assert len(data.val_set) == 0 and len(data.train_set) == 1500
    trainer = L.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        default_root_dir=tmp_path)
    trainer.fit(small_vae(), data)
    assert trainer.global_step == 2


# --- the Python API: what was expected -----------------------------------------------------------------------------
VAE_CASES = [
    ("encode", lambda m: m.encode(torch.rand(1, 28, 28)), r"encode: expected images of shape \(B, 1, 28, 28\), got "
                                                          r"\(1, 28, 28\); add a batch dimension with x\[None\]"),
    ("encode", lambda m: m.encode(torch.rand(2, 784)), r"expected images of shape \(B, 1, 28, 28\), got \(2, 784\)"),
    ("encode", lambda m: m.encode((torch.rand(2, 1, 28, 28) * 255).to(torch.uint8)),
     r"expected floating-point images in \[0, 1\], got dtype torch.uint8; divide uint8 images by 255"),
    ("encode", lambda m: m.encode([[0.0]]), r"expected a tensor of images \(B, 1, 28, 28\), got list"),
    ("decode", lambda m: m.decode(torch.randn(3, 8)), r"decode: expected latent codes z of shape \(\.\.\., 4\) "
                                                      r"\(latent_dim=4\), got \(3, 8\)"),
    ("decode", lambda m: m.decode(torch.zeros(3, 4, dtype=torch.long)), "expected floating-point latent codes z"),
    ("sample", lambda m: m.sample(4, z=torch.randn(8, 4)),
     r"sample: expected latent codes z of shape \(4, 4\) \(latent_dim=4\), got \(8, 4\); pass n=8 with 8 rows of z"),
    ("sample", lambda m: m.sample(0), "sample: n must be an int >= 1, got 0"),
    ("sample", lambda m: m.sample(4, labels=torch.arange(4)), r"sample: this model is unconditional \(num_classes=0\): "
                                                              "it takes no labels"),
    ("interpolate", lambda m: m.interpolate(torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)),
     r"interpolate: expected images of shape \(1, 28, 28\), got \(2, 1, 28, 28\)"),
    ("interpolate", lambda m: m.interpolate(torch.rand(1, 28, 28), torch.rand(1, 28, 28), steps=1),
     "interpolate: steps must be an int >= 2, got 1"),
    ("reconstruct", lambda m: m.reconstruct(torch.full((2, 1, 28, 28), float("nan"))),
     r"reconstruct: the images hold NaN or Inf values \(1568 of them\)"),
]
CONDITIONAL_CASES = [
    (lambda m: m.reconstruct(torch.rand(4, 1, 28, 28)),
     r"reconstruct: this model is class-conditional \(num_classes=10\): pass labels, integers in "
     r"\[0, 10\) of shape \(4\) \(or one int for all\)"),
    (lambda m: m.sample(4, labels=torch.arange(3)), r"expected labels of shape \(4\) \(one per image\), got \(3,\)"),
    (lambda m: m.sample(4, labels=torch.rand(4)), r"labels must be an integer tensor of shape \(4\) \(or one int\), "
                                                  "got torch.float32"),
    (lambda m: m.sample(2, labels=torch.tensor([3, 10])), r"labels must lie in \[0, 10\), got values in \[3, 10\]"),
]


@pytest.mark.parametrize("method, call, message", VAE_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(VAE_CASES)])
def test_the_vae_api_says_what_it_expected(method, call, message):
    with pytest.raises(InputError, match=message):
        call(small_vae())


@pytest.mark.parametrize("module", ["vae", "gan"])
def test_labels_are_checked_for_count_dtype_and_range(module):
    model = small_vae(num_classes=10) if module == "vae" else \
        GANModule(partial(MLPDecoder, hidden=[16]), partial(MLPEncoder, hidden=[16]), latent_dim=4, num_classes=10)
    # a conditional model given no labels draws balanced ones (issues 14 and 24)
    for call, message in CONDITIONAL_CASES if module == "vae" else CONDITIONAL_CASES[1:]:
        with pytest.raises(InputError, match=message):
            call(model)
    assert model.sample(4).shape == (4, 1, 28, 28)
    assert model.sample(3, labels=7).shape == (3, 1, 28, 28)  # one int: that class for every sample
    if module == "vae":
        x = torch.rand(2, 1, 28, 28)
        assert model.interpolate(x[0], x[1], steps=3, labels=7).shape == (3, 1, 28, 28)
        with pytest.raises(InputError, match=r"interpolate: expected labels of shape \(1\) \(one per image\)"):
            model.interpolate(x[0], x[1], labels=torch.tensor([1, 2]))


def test_the_gan_api_says_what_it_expected():
    gan = GANModule(partial(MLPDecoder, hidden=[16]), partial(MLPEncoder, hidden=[16]), latent_dim=4)
    with pytest.raises(InputError, match=r"sample: expected latent codes z of shape \(4, 4\) .* got \(8, 4\); pass n="):
        gan.sample(4, z=torch.randn(8, 4))
    with pytest.raises(InputError, match=r"sample: this model is unconditional \(num_classes=0\): it takes no labels"):
        gan.sample(4, labels=torch.zeros(4, dtype=torch.long))
    with pytest.raises(InputError, match="sample: n must be an int >= 1, got 2.5"):
        gan.sample(2.5)
