"""Every shipped entry's `sample(16)` after `torch.manual_seed(0)`, on one thread, is bit-identical (within 1e-5, see
below) to the tensor stored for it (tests/data/sample16.safetensors), so a redesign of the code that changes what a
user draws from the shipped weights goes red. After a deliberate change of an entry's weights, rewrite the stored
tensors with `ZOO_WRITE_SAMPLES=1 python -m pytest tests/test_sample_identity.py -n 0`."""

import os

import pytest
import torch
from safetensors.torch import load_file, save_file

import zoo
from tests.conftest import REPO

STORED = REPO / "tests" / "data" / "sample16.safetensors"
ENTRIES = [name for name in zoo.list_models(pretrained=True) if not name.startswith("digit_classifier")]


def drawn(name: str) -> torch.Tensor:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a matrix product's rounding may depend on how many threads share it
    try:
        torch.manual_seed(0)
        return zoo.load_pretrained(name).sample(16).contiguous()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def stored() -> dict[str, torch.Tensor]:
    if os.environ.get("ZOO_WRITE_SAMPLES") == "1":
        save_file({name: drawn(name) for name in ENTRIES}, str(STORED))
    return load_file(str(STORED))


@pytest.mark.parametrize("name", ENTRIES)
def test_sample16_is_what_it_was_when_the_entry_shipped(name, stored):
    assert name in stored, f"{name} has no stored sample(16): write them with ZOO_WRITE_SAMPLES=1"
    now = drawn(name)
    assert now.shape == stored[name].shape
    # bit for bit, or within 1e-5: MKL's float results may depend on the buffers' alignment in the last bits
    difference = (now - stored[name]).abs().max()
    assert torch.equal(now, stored[name]) or difference <= 1e-5, f"{name}: largest difference {difference:.3g}"
