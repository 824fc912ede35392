"""sample(n) to a memory bound (zoo.base): large requests are drawn CHUNK images per network call, and one whose
output alone exceeds the free memory is refused up front, in one line that says how much it would need."""

import pytest
import torch

import zoo
from zoo import base
from zoo.errors import InputError


def test_a_large_sample_calls_the_decoder_in_chunks_and_gives_what_one_call_gives(monkeypatch):
    vae = zoo.load_pretrained("vae_mlp.mnist")
    z = torch.randn(10, vae.hparams.latent_dim, generator=torch.Generator().manual_seed(0))
    whole = vae.sample(10, z=z, sampler="prior")
    calls = []
    vae.decoder.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    monkeypatch.setattr(base, "CHUNK", 4)
    torch.testing.assert_close(vae.sample(10, z=z, sampler="prior"), whole)
    assert calls == [4, 4, 2]


def test_a_sample_that_cannot_fit_is_refused_before_anything_is_drawn(monkeypatch):
    vae = zoo.load_pretrained("vae_mlp.mnist")
    monkeypatch.setattr(base, "free_memory_bytes", lambda: 10**9)
    drawn = []
    vae.decoder.register_forward_hook(lambda *_: drawn.append(1))
    with pytest.raises(InputError, match=r"sample\(10000000\) would return 31\.4 GB .* more than the 1\.0 GB free"):
        vae.sample(10**7)
    assert not drawn
