"""A user's mistakes on the real console entry points (`lightning`, `zoo`), run as a user runs them: each is one
`error:` line, exit status 2, no traceback, no warning the user cannot act on, and no file created or changed."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

DIGITS = str(REPO / "configs/vae/mlp_digits.yaml")
MNIST = str(REPO / "configs/vae/mlp_mnist_elbo.yaml")
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


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_mistake_is_one_line_exit_2_and_leaves_nothing_behind(mistake, broken_weights, tmp_path):
    argv, words = MISTAKES[mistake]
    argv = [a.format(**broken_weights) for a in argv]
    before = files_under(tmp_path)
    env = {**os.environ, "WANDB_MODE": "offline"}
    env.pop("ZOO_DEBUG", None)
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env)
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    said = [line for line in output if not line.startswith(START_UP)]
    assert result.returncode == 2, "\n".join(output[-30:])
    assert len(said) <= 3 and said[-1].startswith("error: "), "\n".join(said[-30:])
    assert not any("Traceback" in line or "LightningCLI's args" in line for line in output), "\n".join(output)
    for word in words:
        assert word in said[-1], said[-1]
    assert files_under(tmp_path) == before
