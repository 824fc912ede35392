"""`zoo --help` and `zoo list` start without torch or lightning (issue 27: they took 7-11 s)."""

import subprocess
import sys

import pytest

PROBE = """
import sys
from zoo.cli.commands import main
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


@pytest.mark.slow
def test_importing_the_zoo_leaves_the_processs_warning_filters_alone():
    # its dependencies add filters of their own when imported, so they are imported before the snapshot
    probe = ("import warnings, torch, torchvision, lightning, torchmetrics, scipy.stats, jsonargparse, safetensors, "
             "huggingface_hub; import lightning.pytorch.cli; before = list(warnings.filters); "
             "import zoo.modules.vae, zoo.modules.gan, zoo.modules.vqvae, zoo.cli.lightning_cli, zoo.hub.registry; "
             "print([f for f in warnings.filters if f not in before])")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_a_training_process_loads_one_openmp_runtime():
    """scikit-learn ships its own libgomp; imported by the modules a fit loads (through prdc, the GMM sampler, MIG),
    it put a second OpenMP runtime beside torch's into every training process (issue 28's lead). It is imported
    only where it is used."""
    probe = ("import sys; import zoo.modules.vae, zoo.modules.gan, zoo.modules.vqvae, zoo.callbacks, zoo.data, "
             "zoo.cli.lightning_cli; "
             "print(sorted({line.split()[-1].rpartition('/')[2] for line in open('/proc/self/maps') "
             "if 'gomp' in line}), 'sklearn' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['libgomp.so.1'] False"
