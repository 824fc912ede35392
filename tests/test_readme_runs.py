"""The README and CONTRIBUTING.md run as written: every fenced Python block is executed verbatim in a fresh
interpreter, and every command line of their shell blocks is checked by the program it names: `lightning ...`
parses and validates its whole configuration (`--print_config`, no training), `zoo ...` runs, and
`python benchmarks/<script>.py ...` has its options accepted by the script's own parser. Lines that are
synopses (`...`, `[optional]`, `<placeholder>`), installs (`pip`) and launchers for many machines are left out."""

import argparse
import contextlib
import io
import re
import runpy
import shlex
import subprocess
import sys

import pytest

from tests.conftest import REPO

DOCUMENTS = [REPO / "README.md", REPO / "CONTRIBUTING.md"]
FENCED = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
ENVIRONMENT = re.compile(r"^(\w+=\S*\s+)+")


def python_blocks() -> list[tuple[str, str]]:
    return [(f"{doc.name} block {i}", code) for doc in DOCUMENTS
            for i, (language, code) in enumerate(FENCED.findall(doc.read_text())) if language == "python"]


def shell_lines() -> list[str]:
    """The command lines of the documents' indented (4-space) blocks, continuations joined, comments cut."""
    lines = []
    for doc in DOCUMENTS:
        text = FENCED.sub("", doc.read_text()).replace("\\\n", " ")
        previous = ""
        for line in text.splitlines():
            if line.startswith("    ") and (not previous.strip() or previous.startswith("    ")):
                command = line.split("  #")[0].strip()
                if command and not command.startswith("#"):
                    lines += [part.strip() for part in command.split("&&")]
            previous = line
    return lines


def runnable(command: str) -> bool:
    words = shlex.split(ENVIRONMENT.sub("", command))
    synopsis = any(mark in command for mark in ("...", "<", " [")) or "my_folder" in command
    program = words[:3] == ["python", "-m", "zoo"] or words[0] in ("lightning", "zoo") or \
        words[0] == "python" and words[1] != "-m"  # python benchmarks/<script>.py
    return program and not synopsis


COMMANDS = [c for c in dict.fromkeys(shell_lines()) if runnable(c)]


def test_the_documents_hold_the_blocks_this_test_runs():
    assert len(python_blocks()) >= 2
    assert any(c.startswith("lightning fit") for c in COMMANDS) and any(c.startswith("zoo") for c in COMMANDS)
    assert any("benchmarks/" in c for c in COMMANDS)
    assert not any(c.startswith(("pip", "torchrun", "srun")) for c in COMMANDS)


@pytest.mark.parametrize("name, code", python_blocks(), ids=[name for name, _ in python_blocks()])
def test_a_python_block_runs_verbatim(name, code, tmp_path):
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


class Parsed(Exception):
    """Raised once a script's parser has accepted its arguments: the script itself is not run."""


def check_command(command: str, monkeypatch) -> None:
    words = shlex.split(ENVIRONMENT.sub("", command))
    if words[0] == "python" and words[1] == "-m":
        words = ["lightning", *words[3:]]
    if words[0] == "lightning":
        from zoo.cli.lightning_cli import main

        with pytest.raises(SystemExit) as stop, contextlib.redirect_stdout(io.StringIO()):
            main(words[1:] + ([] if "--help" in words else ["--print_config"]))
        assert stop.value.code in (0, None)
    elif words[0] == "zoo":
        from zoo.cli.commands import main

        with contextlib.redirect_stdout(io.StringIO()):
            main(words[1:])
    else:
        script = REPO / words[1]
        assert script.is_file(), f"{command}: no {words[1]}"
        original = argparse.ArgumentParser.parse_known_args  # parse_args goes through it too

        def parse_then_stop(parser, args=None, namespace=None):
            original(parser, args, namespace)
            raise Parsed

        monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", parse_then_stop)
        monkeypatch.setattr(sys, "argv", words[1:])
        monkeypatch.syspath_prepend(str(script.parent))
        with pytest.raises(Parsed):
            runpy.run_path(str(script), run_name="__main__")


def checkout_view(tmp_path):
    """A folder that reads like the checkout (its recipes, weights and benchmarks, `../shared/data` beside it) but
    keeps what a command writes (runs/, benchmarks/results/) to itself, so that running the documents' commands
    leaves the checkout's tracked files as they were."""
    work = tmp_path / "work"
    (work / "benchmarks" / "results").mkdir(parents=True)
    for name in ("configs", "checkpoints", "zoo"):
        (work / name).symlink_to(REPO / name)
    for script in (REPO / "benchmarks").glob("*.py"):
        (work / "benchmarks" / script.name).symlink_to(script)
    (tmp_path / "shared").symlink_to(REPO.parent / "shared")
    return work


@pytest.mark.parametrize("command", COMMANDS)
def test_a_shell_line_is_accepted_by_its_program(command, monkeypatch, tmp_path):
    monkeypatch.chdir(checkout_view(tmp_path))
    check_command(command, monkeypatch)

