"""Every shipped entry's `sample(16)` after `torch.manual_seed(0)`, on one thread, is what it was when stored
(tests/data/sample16.json), so a redesign of the code that changes what a user draws from the shipped weights goes
red. Stored per image: its mean, its mean square and its means against two fixed random images, which any other
drawing moves by far more than the 1e-5 allowed (MKL's float results may depend on the buffers' alignment in the
last bits). After a deliberate change of an entry's weights, rewrite them with
`ZOO_WRITE_SAMPLES=1 python -m pytest tests/test_sample_identity.py -n 0`."""

import json
import os

import pytest
import torch

import zoo
from tests.conftest import REPO

STORED = REPO / "tests" / "data" / "sample16.json"
ENTRIES = [name for name in zoo.list_models(pretrained=True) if not name.startswith("digit_classifier")]


def digest(name: str) -> dict:
    """The shape of `sample(16)` and, per image, [mean, mean square, mean against two fixed N(0, 1) images]."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a matrix product's rounding may depend on how many threads share it
    try:
        torch.manual_seed(0)
        samples = zoo.load_pretrained(name).sample(16).double().flatten(1)
    finally:
        torch.set_num_threads(threads)
    fixed = torch.randn(2, samples.shape[1], generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    per_image = torch.stack([samples.mean(1), samples.square().mean(1), *(samples * fixed[:, None]).mean(2)], 1)
    return {"shape": list(samples.shape), "per_image": per_image.tolist()}


@pytest.fixture(scope="module")
def stored() -> dict[str, dict]:
    if os.environ.get("ZOO_WRITE_SAMPLES") == "1":
        STORED.write_text(json.dumps({name: digest(name) for name in ENTRIES}) + "\n")
    return json.loads(STORED.read_text())


@pytest.mark.parametrize("name", ENTRIES)
def test_sample16_is_what_it_was_when_the_entry_shipped(name, stored):
    assert name in stored, f"{name} has no stored sample(16): write them with ZOO_WRITE_SAMPLES=1"
    now = digest(name)
    assert now["shape"] == stored[name]["shape"]
    difference = (torch.tensor(now["per_image"]) - torch.tensor(stored[name]["per_image"])).abs().max()
    assert difference <= 1e-5, f"{name}: sample(16) moved by up to {difference:.3g}"
