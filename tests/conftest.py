"""Small data made on the spot: tests never need the real data sets or the network."""

import hashlib
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("WANDB_MODE", "disabled")  # the W&B test turns it on (offline) for itself
os.environ.setdefault("ZOO_CACHE_DIR", tempfile.mkdtemp(prefix="zoo-test-cache-"))  # FID's real statistics
if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker per core: one thread each, for its subprocesses too
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)

# The slow tier: files whose tests run the console entry points in subprocesses, train or build a wheel, and the
# tests marked `@pytest.mark.slow` in other files (over a second each: DDP ranks, fits, thousands of samples per
# shipped entry). `python -m pytest -m "not slow"` runs the rest, the maths, the modules in-process and each
# shipped entry's quick checks: a change's fast feedback.
# The README's command runs both tiers.
SLOW_FILES = {"test_mistakes.py", "test_distributed.py", "test_wheel.py", "test_gpu_campaign.py",
              "test_fast_path.py", "test_readme_runs.py", "test_cli.py", "test_shipped_models.py"}


# The files whose tests take longest, run first: with `--dist worksteal` the two workers then end on short tests
# instead of one waiting on the other's minute-long test (longest-first scheduling).
LONGEST_FIRST = ("test_gpu_campaign.py", "test_wheel.py", "test_looks.py", "test_gan_theory.py", "test_faults.py",
                 "test_distributed.py", "test_metrics.py", "test_mistakes.py", "test_cli.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's own order kept


def write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file as in LeCun's MNIST distribution: magic (0, 0, 0x08 = uint8, ndim), big-endian sizes."""
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, array.ndim))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def make_mnist_like(root: Path, name: str = "MNIST", n_train: int = 256, n_test: int = 64) -> Path:
    """Random 28x28 'digits' (a bright blob whose position depends on the label) in torchvision's layout."""
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 40, (n, 28, 28))
        for i, label in enumerate(labels):
            row, col = 4 + 2 * (label // 5) * 5, 4 + 4 * (label % 5)
            images[i, row: row + 8, col: col + 6] = 250
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


def make_image_folder(root: Path, size: int, channels: int = 3, per_class: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for label in range(2):
        folder = root / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, channels), dtype=np.uint8)
            Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    make_mnist_like(root, "MNIST")
    make_mnist_like(root, "FashionMNIST")
    return root


@pytest.fixture(scope="session")
def folder_root(tmp_path_factory):
    """Image folders of 32x32 and 64x64 RGB images, standing in for CIFAR-10 and CelebA."""
    base = tmp_path_factory.mktemp("folders")
    return {size: make_image_folder(base / str(size), size) for size in (32, 64)}


def fill_hf_cache(cache: Path, repo_id: str, revision: str, files: dict[str, bytes]) -> Path:
    """What huggingface_hub leaves after downloading `files` of a model repo at commit `revision` (its cache
    layout): content-addressed blobs, a snapshot folder of links to them, and `refs/main` naming the commit.
    Returns the snapshot folder."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    return snapshot


def import_benchmark(name: str, monkeypatch):
    """A script of benchmarks/ as a module, its sibling scripts importable as when it runs."""
    import importlib

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    return importlib.import_module(name)
