"""The house's layout: zoo/'s top level stays small, and the release pipeline is a `zoo` command of the package."""

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from zoo.cli.commands import main


def test_zoo_keeps_at_most_six_modules_at_its_top_level():
    top = sorted(path.name for path in (REPO / "zoo").glob("*.py"))
    assert len(top) <= 6, top
    assert not (REPO / "benchmarks" / "export_pretrained.py").exists()


@pytest.mark.parametrize("command, usage", [("release", "usage: zoo release"),
                                            ("fit-sampler", "usage: zoo fit-sampler")])
def test_the_release_and_the_sampler_fit_are_zoo_commands_with_their_own_help(command, usage, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(usage)


def test_zoo_release_outside_a_checkout_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["release", "--only", "vae_mlp.mnist"])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: zoo release runs in a checkout's root") and error.count("\n") == 1


def test_every_package_folder_has_its_init_so_the_wheel_carries_it():
    folders = {path.parent for path in (REPO / "zoo").rglob("*.py") if "__pycache__" not in path.parts}
    assert [folder for folder in folders if not (folder / "__init__.py").is_file()] == []


@pytest.mark.slow
def test_the_fast_tier_keeps_at_least_seventy_percent_of_the_tests():
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p", "no:cacheprovider", "-m",
               "not slow", str(REPO / "tests")]
    collected = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    fast, total = map(int, re.search(r"(\d+)/(\d+) tests collected", collected.stdout).groups())
    assert fast >= 0.7 * total, f"the fast tier holds {fast} of {total} tests"
