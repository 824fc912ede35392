"""`zoo --help` and `zoo list` start without torch or lightning (issue 27: they took 7-11 s)."""

import subprocess
import sys

import pytest

PROBE = """
import sys
from zoo.commands import main
try:
    main({argv!r})
except SystemExit:
    pass
print("HEAVY", sorted(m for m in ("torch", "lightning", "huggingface_hub") if m in sys.modules))
"""


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["list", "vae*", "--pretrained"], ["recipes"]])
def test_the_zoo_command_lists_without_importing_torch(argv):
    result = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY []"
    assert len(result.stdout.splitlines()) > 1  # it printed its help or its list


def test_the_package_names_still_import_on_first_use():
    import zoo

    assert zoo.VAEModule.__name__ == "VAEModule" and callable(zoo.load_pretrained)
    assert "GANModule" in dir(zoo)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        zoo.nope  # noqa: B018
