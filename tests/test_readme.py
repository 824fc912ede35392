"""The README's two set-up commands stay true: CI runs exactly its test command, and the main job's
recipe exists and needs no download."""

from tests.conftest import REPO


def readme_commands() -> list[str]:
    lines = (REPO / "README.md").read_text().splitlines()
    return [line.strip() for line in lines[:8] if line.startswith("    ")]


def test_ci_runs_the_readme_test_command():
    setup, test = readme_commands()
    ci = (REPO / ".ci/run").read_text().splitlines()
    assert test in ci
    assert 'pip install -e ".[dev]"' in setup and 'pip install -e ".[dev]"' in ci


def test_main_job_uses_data_that_needs_no_download():
    setup, _ = readme_commands()
    recipe = setup.split("--config")[1].split()[0]
    assert "zoo.data.Digits" in (REPO / recipe).read_text()
