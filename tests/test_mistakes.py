"""A user's mistakes on the real console entry points (`lightning`, `zoo`): each is one `error:` line, exit status
2, no traceback, no warning the user cannot act on, and no file created or changed.

Each mistake runs in a process of its own, forked from a server that has imported torch, Lightning and the zoo once
(multiprocessing's forkserver), so the suite does not pay those imports eighteen times. What such a child cannot
show, warnings printed while those modules import and output at interpreter exit, the two mistakes run through
the installed console scripts, as a user runs them, do show."""

import functools
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DIGITS = str(REPO / "configs/vae/mlp_digits.yaml")
MNIST = str(REPO / "configs/vae/mlp_mnist_elbo.yaml")
GAN = str(REPO / "configs/gan/dcgan_mnist.yaml")
FIT = ["lightning", "fit", "--config", DIGITS]
START_UP = ("Seed set to", "GPU available", "TPU available", "HPU available", "💡 Tip", "W&B:")

MISTAKES = {  # what the user typed -> the words the one line must hold
    "batch size 0": ([*FIT, "--data.batch_size", "0"], ["batch_size"]),
    "batch size -5": ([*FIT, "--data.batch_size", "-5"], ["batch_size"]),
    "latent size 0": ([*FIT, "--model.latent_dim", "0"], ["latent_dim"]),
    "negative learning rate": ([*FIT, "--model.optimizer.init_args.lr", "-1"],
                               ["--model.optimizer", "learning rate"]),
    "missing recipe file": (["lightning", "fit", "--config", "configs/vae/nope.yaml"],
                            ["no such file", "did you mean"]),
    "misspelt recipe file": (["lightning", "fit", "--config", "configs/vae/mlp_mnsit_elbo.yaml"],
                             ["did you mean", "mlp_mnist_elbo"]),
    "misspelt zoo: recipe": (["lightning", "fit", "--config", "zoo:vae/mlp_mnsit_elbo.yaml"],
                             ["did you mean", "mlp_mnist_elbo"]),
    "unknown model option": ([*FIT, "--model.foo", "3"], ["foo"]),
    "misspelt model option": ([*FIT, "--model.latent_dimm", "3"], ["latent_dim"]),
    "a VAE option that moved into its objective": ([*FIT, "--model.beta", "4"], ["--model.objective.beta"]),
    "a GAN option that moved into its objective": (["lightning", "fit", "--config", GAN, "--model.n_critic", "5"],
                                                    ["--model.objective.n_critic"]),
    "no --config": (["lightning", "fit"], ["--config", "zoo recipes"]),
    "missing data": (["lightning", "fit", "--config", MNIST, "--data.root", "nowhere", "--data.download", "false"],
                     ["nowhere"]),
    "truncated weights file": (["lightning", "test", "--config", MNIST, "--weights", "{truncated}"],
                               ["truncated or corrupted"]),
    "folder of truncated weights": (["lightning", "test", "--config", MNIST, "--weights", "{folder}"],
                                    ["truncated or corrupted"]),
    "test without weights": (["lightning", "test", "--config", DIGITS], ["--ckpt_path", "--weights"]),
    "unknown weights name": (["lightning", "test", "--config", MNIST, "--weights", "zoo:vae_mpl.mnist"],
                             ["vae_mlp.mnist"]),
    "zoo list, no match": (["zoo", "list", "gann*"], ["no zoo entry", "gan"]),
    "zoo card, unknown entry": (["zoo", "card", "vae_mpl.mnist"], ["vae_mlp.mnist"]),
    "zoo export, missing checkpoint": (["zoo", "export", "missing.ckpt", "out"], ["missing.ckpt"]),
}


def files_under(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def broken_weights(tmp_path_factory) -> dict[str, str]:
    """A truncated copy of vae_mlp.mnist's model.safetensors, alone and in a weights folder."""
    folder = tmp_path_factory.mktemp("broken") / "vae_mlp.mnist"
    folder.mkdir()
    shipped = REPO / "checkpoints" / "vae_mlp.mnist"
    (folder / "model.safetensors").write_bytes((shipped / "model.safetensors").read_bytes()[:1000])
    (folder / "config.yaml").write_bytes((shipped / "config.yaml").read_bytes())
    return {"truncated": str(folder / "model.safetensors"), "folder": str(folder)}


def user_environment() -> dict[str, str]:
    env = {**os.environ, "WANDB_MODE": "offline"}
    env.pop("ZOO_DEBUG", None)
    return env


def run_entry_point(argv: list[str], cwd: str, env: dict[str, str], log: str) -> None:
    """In the forked child: what the console script `argv[0]` does, its stdout and stderr into `log`."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = argv
    if argv[0] == "lightning":
        from zoo.cli.console import console as entry_point
    else:
        from zoo.cli.commands import main as entry_point
    entry_point()


@pytest.fixture(scope="module")
def forkserver():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["torch", "lightning.pytorch", "jsonargparse", "zoo.cli.console",
                                     "zoo.cli.commands", "zoo.cli.lightning_cli", "zoo.modules.vae", "zoo.modules.gan",
                                     "zoo.data", "zoo.nets", "zoo.callbacks"])
    return context


def run_forked(forkserver, argv: list[str], cwd: Path) -> tuple[int, str]:
    log = cwd.parent / f"{cwd.name}.log"  # beside the folder, which must stay untouched
    child = forkserver.Process(target=run_entry_point, args=(argv, str(cwd), user_environment(), str(log)))
    child.start()
    child.join(180)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"{' '.join(argv)} ran past 180 s")
    return child.exitcode, log.read_text()


def run_installed(argv: list[str], cwd: Path) -> tuple[int, str]:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=180, env=user_environment())
    return result.returncode, result.stdout + result.stderr


def check_one_clear_line(mistake: str, run, broken_weights, tmp_path) -> None:
    argv, words = MISTAKES[mistake]
    argv = [a.format(**broken_weights) for a in argv]
    before = files_under(tmp_path)
    returncode, text = run(argv, tmp_path)
    output = [line for line in text.splitlines() if line.strip()]
    said = [line for line in output if not line.startswith(START_UP)]
    assert returncode == 2, "\n".join(output[-30:])
    assert len(said) <= 3 and said[-1].startswith("error: "), "\n".join(said[-30:])
    assert not any("Traceback" in line or "LightningCLI's args" in line for line in output), "\n".join(output)
    for word in words:
        assert word in said[-1], said[-1]
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_is_one_line_exit_2_and_leaves_nothing_behind(mistake, forkserver, broken_weights, tmp_path):
    check_one_clear_line(mistake, functools.partial(run_forked, forkserver), broken_weights, tmp_path)


@pytest.mark.parametrize("mistake", ["batch size 0", "zoo card, unknown entry"])
def test_a_mistake_through_the_installed_console_script_is_one_line_too(mistake, broken_weights, tmp_path):
    check_one_clear_line(mistake, run_installed, broken_weights, tmp_path)
