"""Recipes by `zoo:` name: `zoo recipes` lists every file of configs/, and `zoo:<recipe>` on the command line or
inside a YAML file reads the same file as its path does."""

import itertools

import pytest
import torch
import yaml
from lightning.pytorch.cli import instantiate_class

from tests.conftest import REPO
from zoo.cli.commands import main as zoo_command
from zoo.cli.lightning_cli import main
from zoo.hub import recipes


def test_zoo_recipes_lists_every_config_file_with_its_path(capsys):
    zoo_command(["recipes"])
    listed = dict(line.split() for line in capsys.readouterr().out.splitlines())
    files = sorted((REPO / "configs").rglob("*.yaml"))
    assert listed == {f"zoo:{path.relative_to(REPO / 'configs').as_posix()}": str(path) for path in files}


def printed_config(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit):
        main(["fit", *args, "--print_config"])
    return capsys.readouterr().out


@pytest.mark.slow
def test_a_zoo_name_reads_the_same_recipe_as_its_path(capsys):
    by_path = printed_config(["--config", str(REPO / "configs/vae/mlp_digits.yaml")], capsys)
    assert "latent_dim: 16" in by_path and "ImageGrids" in by_path  # the recipe and the trainer defaults
    assert printed_config(["--config", "zoo:vae/mlp_digits.yaml"], capsys) == by_path
    assert printed_config(["--config=zoo:vae/mlp_digits.yaml"], capsys) == by_path


def test_a_zoo_name_inside_a_yaml_file_is_resolved(tmp_path, monkeypatch, capsys):
    shipped = tmp_path / "shipped"
    (shipped / "parts").mkdir(parents=True)
    (shipped / "parts" / "digits.yaml").write_text("class_path: zoo.data.Digits\ninit_args: {batch_size: 7}\n")
    monkeypatch.setattr(recipes, "CONFIGS", shipped)
    recipe = (REPO / "configs/vae/mlp_digits.yaml").read_text().split("\ndata:")[0] + "\ndata: zoo:parts/digits.yaml\n"
    (tmp_path / "outer.yaml").write_text(recipe)
    assert "batch_size: 7" in printed_config(["--config", str(tmp_path / "outer.yaml")], capsys)


def test_an_unknown_zoo_name_says_where_to_look():
    with pytest.raises(FileNotFoundError, match="no recipe 'zoo:vae/nothing.yaml'.*`zoo recipes` lists all"):
        main(["fit", "--config", "zoo:vae/nothing.yaml"])


def test_the_burda_recipe_runs_burda_et_al_s_schedule():
    """3^i passes at learning rate 1e-3 * 10^(-i/7), i = 0..7 (Burda et al. 2016, section 5), epoch by epoch."""
    config = yaml.safe_load((REPO / "configs/vae/mlp_mnist_elbo_burda.yaml").read_text())
    model, trainer = config["model"]["init_args"], config["trainer"]
    optimizer = instantiate_class([torch.nn.Parameter(torch.zeros(1))], model["optimizer"])
    scheduler = instantiate_class(optimizer, model["lr_scheduler"])
    ends = list(itertools.accumulate(3**i for i in range(8)))  # 1, 4, 13, ..., 3280
    assert trainer["max_epochs"] == ends[-1]
    for epoch in range(ends[-1]):
        stage = next(i for i, end in enumerate(ends) if epoch < end)
        assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 10 ** (-stage / 7), rel=1e-6), epoch
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["eps"] == 1e-4
