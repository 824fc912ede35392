"""Installed from a wheel, outside the checkout, the zoo works as in it: the wheel is built, installed into a fresh
virtual environment (the installed dependencies visible, the checkout's `zoo` not), and from an empty folder
`lightning fit --config zoo:...` trains with the trainer defaults, the entries list, and weights load from a
file:// mirror and from a pre-filled Hugging Face cache offline, a wrong hash from either being refused."""

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.conftest import REPO, fill_hf_cache
from zoo.hub import folders

SOURCES = ["zoo", "configs", "setup.py", "pyproject.toml", "README.md", "checkpoints/digit_classifier.mnist",
           "checkpoints/digit_classifier_lenet.mnist"]
REVISION = "89abcdef0123456789abcdef0123456789abcdef"

CHECKS = """
import dataclasses, json, os, sys
from pathlib import Path
import torch
import zoo
from zoo.hub import folders, registry
from zoo.cli.commands import main
from zoo.metrics.extractors import DigitFeatures

checkpoints, report = Path(sys.argv[1]), {"zoo": zoo.__file__}
main(["list", "--pretrained"])
main(["recipes"])
report["classifier"] = str(registry.weights_folder("digit_classifier.mnist"))
report["classifier_sha256"] = DigitFeatures().protocol["weights_sha256"]

def load(name, repo_id=None):
    if repo_id:
        registry.register(dataclasses.replace(registry.get(name), repo_id=repo_id, revision=sys.argv[2]))
    try:
        module = zoo.load_pretrained(name)
    except folders.WeightsError as error:
        return str(error)
    reference = folders.load_folder(checkpoints / name)  # the checkout's files, read by the installed zoo
    same = all(torch.equal(module.state_dict()[k], v) for k, v in reference.state_dict().items())
    return {"folder": str(registry.weights_folder(name)), "same_weights": same}

os.environ["ZOO_WEIGHTS_URL"] = sys.argv[3]
report["mirror"], report["mirror_bad"] = load("beta_vae.mnist"), load("gan_mlp.ring")
del os.environ["ZOO_WEIGHTS_URL"]
report["hub"] = load("vae_conv_gaussian.mnist", "zoo-test/vae_conv_gaussian.mnist")
report["hub_bad"] = load("gan_mlp.grid", "zoo-test/gan_mlp.grid")
print("REPORT " + json.dumps(report))
"""


def build_and_install(tmp_path: Path) -> Path:
    """The wheel built from a copy of the sources (the checkout gets no build/), installed into a new venv."""
    source = tmp_path / "source"
    for name in SOURCES:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, timeout=300)
    venv.create(tmp_path / "venv", with_pip=False)
    python = tmp_path / "venv" / "bin" / "python"
    inherit_dependencies(tmp_path / "venv")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", "--force-reinstall",
                    *map(str, (tmp_path / "dist").glob("zoo-*.whl"))], check=True, capture_output=True, timeout=300)
    return tmp_path / "venv" / "bin"


def inherit_dependencies(new_venv: Path) -> None:
    """Let the new venv see the packages of the interpreter running the tests (a virtualenv's, not its base
    interpreter's, as `system_site_packages` would give): their folders go on its path through a .pth file, whose
    folders' own .pth files (an editable install of the checkout) are not read."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    paths = sysconfig.get_paths()
    site_folders = dict.fromkeys([*site.getsitepackages(), paths["purelib"], paths["platlib"]])
    (new_venv / "lib" / version / "site-packages" / "dependencies.pth").write_text("\n".join(site_folders) + "\n")


def mirror(root: Path, good: str, bad: str) -> str:
    """A folder per entry, as a web server of weights would hold them; `bad`'s config has one byte changed."""
    for name in (good, bad):
        shutil.copytree(REPO / "checkpoints" / name, root / name)
    config = root / bad / folders.CONFIG
    config.write_text(config.read_text() + "#")
    return root.as_uri()


def files(name: str, corrupt: bool = False) -> dict[str, bytes]:
    found = {file: (REPO / "checkpoints" / name / file).read_bytes() for file in (folders.WEIGHTS, folders.CONFIG)}
    if corrupt:
        found[folders.WEIGHTS] = found[folders.WEIGHTS][:-1] + bytes([found[folders.WEIGHTS][-1] ^ 0xFF])
    return found


def test_the_wheel_installs_trains_and_loads_weights_outside_the_checkout(tmp_path):
    bin_dir = build_and_install(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    hf_cache = tmp_path / "hf"
    snapshot = fill_hf_cache(hf_cache, "zoo-test/vae_conv_gaussian.mnist", REVISION, files("vae_conv_gaussian.mnist"))
    bad = fill_hf_cache(hf_cache, "zoo-test/gan_mlp.grid", REVISION, files("gan_mlp.grid", corrupt=True))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "ZOO_WEIGHTS_URL")}
    env.update(OMP_NUM_THREADS="1", WANDB_MODE="disabled", ZOO_CACHE_DIR=str(tmp_path / "zoo-cache"),
               HF_HUB_CACHE=str(hf_cache), HF_HUB_OFFLINE="1")

    fit = subprocess.run([bin_dir / "lightning", "fit", "--config", "zoo:vae/mlp_digits.yaml",
                          "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2",
                          "--trainer.limit_val_batches", "1", "--trainer.enable_progress_bar", "false"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert fit.returncode == 0, fit.stderr[-3000:]
    run = work / "runs" / "lightning_logs" / "version_0"  # trainer.yaml: default_root_dir runs, ...
    assert (run / "checkpoints" / "last.ckpt").is_file()  # ... ModelCheckpoint(save_last=True) ...
    assert (run / "images" / "samples_epoch=000.png").is_file()  # ... and ImageGrids

    checks = subprocess.run([bin_dir / "python", "-c", CHECKS, str(REPO / "checkpoints"), REVISION,
                             mirror(tmp_path / "mirror", "beta_vae.mnist", "gan_mlp.ring")],
                            cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert checks.returncode == 0, checks.stderr[-3000:]
    out = checks.stdout
    report = json.loads(out.split("REPORT ")[1])
    installed = tmp_path / "venv"
    assert Path(report["zoo"]).is_relative_to(installed)  # the wheel's zoo, not the checkout's
    assert "vae_mlp.mnist" in out and "digit_classifier.mnist" in out  # zoo list
    assert "zoo:vae/mlp_digits.yaml" in out and str(installed) in out  # zoo recipes, with installed paths
    assert Path(report["classifier"]).is_relative_to(installed)
    classifier = REPO / "checkpoints/digit_classifier.mnist" / folders.WEIGHTS
    assert report["classifier_sha256"] == folders.sha256_of(classifier)

    assert report["mirror"] == {"folder": str(tmp_path / "zoo-cache/checkpoints/beta_vae.mnist"), "same_weights": True}
    assert "gan_mlp.ring/config.yaml: sha256" in report["mirror_bad"]
    assert not (tmp_path / "zoo-cache/checkpoints/gan_mlp.ring" / folders.CONFIG).exists()  # refused, not kept
    assert report["hub"] == {"folder": str(snapshot), "same_weights": True}
    assert f"zoo-test/gan_mlp.grid@{REVISION}/model.safetensors: sha256" in report["hub_bad"]
    assert not (bad / folders.WEIGHTS).exists()
