"""VQ-VAE: the quantiser's straight-through gradient, EMA codebook and dead-code restarts against hand computations;
the prior's causal factorisation and its sampler against exact probabilities; sampling, the two training phases,
checkpoints, exact resume and `lightning test` of the recipe."""

import itertools
import json
import math
from functools import partial
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from scipy import stats

from tests.conftest import REPO
from zoo import VQVAEModule
from zoo.cli.lightning_cli import main
from zoo.data import Digits
from zoo.errors import InputError
from zoo.hub import folders
from zoo.nets import CodeTransformer, VQDecoder, VQEncoder
from zoo.nets.quantizer import VectorQuantizer

RECIPE = str(REPO / "configs/vae/vqvae_mnist.yaml")


def as_grid(vectors) -> torch.Tensor:
    """(N, D) vectors -> encoder outputs (N, D, 1, 1), whose flattened rows are the vectors in order."""
    return torch.as_tensor(np.asarray(vectors), dtype=torch.float32)[:, :, None, None]


def sonnet_ema_reference(codebook: np.ndarray, batches: list[np.ndarray], decay: float, epsilon: float) -> list:
    """Sonnet 2's VectorQuantizerEMA, by hand in float64: nearest codes; the counts and sums enter exponential moving
    averages whose hidden states start at zero and are debiased by 1 - decay^t; the counts are Laplace-smoothed; each
    code is its smoothed mean. Returns (codebook, cluster sizes, sums) after each batch."""
    codebook = codebook.astype(np.float64).copy()
    k = len(codebook)
    hidden_counts, hidden_sums = np.zeros(k), np.zeros_like(codebook)
    states = []
    for t, x in enumerate(batches, start=1):
        distances = ((x[:, None, :] - codebook[None]) ** 2).sum(-1)  # (N, K)
        one_hot = np.eye(k)[distances.argmin(1)]
        hidden_counts -= (hidden_counts - one_hot.sum(0)) * (1 - decay)
        hidden_sums -= (hidden_sums - one_hot.T @ x) * (1 - decay)
        counts, sums = hidden_counts / (1 - decay**t), hidden_sums / (1 - decay**t)
        total = counts.sum()
        smoothed = (counts + epsilon) / (total + k * epsilon) * total
        codebook = sums / smoothed[:, None]
        states.append((codebook.copy(), counts, sums))
    return states


def tiny_module(**options) -> VQVAEModule:
    return VQVAEModule(partial(VQEncoder, hidden=8, residual_hidden=4, residual_layers=1),
                       partial(VQDecoder, hidden=8, residual_hidden=4, residual_layers=1),
                       partial(CodeTransformer, dim=16, layers=1, heads=2), num_codes=8, code_dim=4, **options)


# --- the quantiser ---------------------------------------------------------------------------------------------------
def test_straight_through_passes_the_decoders_gradient_to_the_encoder_unchanged():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(num_codes=5, code_dim=3)
    z_e = torch.randn(2, 3, 4, 4, requires_grad=True)
    weights = torch.randn(2, 3, 4, 4)

    def decoder_loss(z):  # any differentiable function of the decoder's input
        return (torch.tanh(z) * weights).sum()

    out = quantizer(z_e)
    decoder_loss(out.quantized).backward()
    z_q = out.quantized.detach().clone().requires_grad_(True)
    decoder_loss(z_q).backward()
    # the value is the nearest code vector (brute force over the codebook)
    flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, 3)
    nearest = torch.cdist(flat, quantizer.codebook).argmin(1)
    torch.testing.assert_close(out.quantized.detach().permute(0, 2, 3, 1).reshape(-1, 3), quantizer.codebook[nearest],
                               rtol=0, atol=1e-6)
    # and the gradient w.r.t. z_e is the gradient w.r.t. the quantised vectors
    torch.testing.assert_close(z_e.grad, z_q.grad, rtol=0, atol=0)
    # the commitment loss pulls z_e towards its codes: its gradient is 2 (z_e - e) / numel
    z_e.grad = None
    quantizer(z_e).commitment.backward()
    torch.testing.assert_close(z_e.grad, 2 * (z_e - z_q).detach() / z_e.numel())


def test_ema_codebook_update_matches_sonnets_by_hand():
    codebook = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]])
    batches = [np.array([[0.1, 0.2], [0.9, 1.2], [1.1, 0.8], [-0.2, -0.1], [1.0, 1.0]]),  # code 2 unused
               np.array([[-1.2, 2.1], [0.05, 0.0], [1.3, 1.1], [-0.8, 1.9]]),
               np.array([[0.4, 0.5], [-1.0, 2.5], [1.6, 0.9]])]
    decay, epsilon = 0.9, 0.5  # a large epsilon, so that the smoothing shows
    quantizer = VectorQuantizer(3, 2, decay=decay, epsilon=epsilon, restart_after=1000)
    quantizer.codebook.copy_(torch.tensor(codebook))
    for batch, (expected_codebook, expected_counts, expected_sums) in zip(
            batches, sonnet_ema_reference(codebook, batches, decay, epsilon), strict=True):
        z_e = as_grid(batch)
        quantizer.update(z_e, quantizer(z_e).codes)
        torch.testing.assert_close(quantizer.cluster_size.double(), torch.tensor(expected_counts), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(quantizer.embedding_sum.double(), torch.tensor(expected_sums), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(quantizer.codebook.double(), torch.tensor(expected_codebook), rtol=1e-5, atol=1e-6)
    assert int(quantizer.updates) == 3


def test_dead_code_restart_moves_exactly_the_codes_idle_for_restart_after_batches():
    torch.manual_seed(0)
    codebook = np.array([[5.0, 5.0], [-5.0, 5.0], [5.0, -5.0], [-5.0, -5.0]])
    rng = np.random.default_rng(0)
    near = lambda centre, n: centre + 0.3 * rng.standard_normal((n, 2))  # noqa: E731
    batches = [np.concatenate([near(codebook[0], 6), near(codebook[1], 6)]),  # codes 0 and 1
               near(codebook[0], 8), near(codebook[0], 8)]  # code 0 only
    decay, epsilon = 0.9, 1e-5
    quantizer = VectorQuantizer(4, 2, decay=decay, epsilon=epsilon, restart_after=2)
    quantizer.codebook.copy_(torch.tensor(codebook))
    reference = sonnet_ema_reference(codebook, batches[:2], decay, epsilon)

    def is_row_of(vector, batch) -> bool:
        return bool(torch.isclose(torch.tensor(batch, dtype=torch.float32), vector).all(1).any())

    z_e = as_grid(batches[0])
    assert quantizer.update(z_e, quantizer(z_e).codes) == 0
    z_e = as_grid(batches[1])
    assert quantizer.update(z_e, quantizer(z_e).codes) == 2  # codes 2 and 3, unused in both batches
    assert quantizer.idle_steps.tolist() == [0, 1, 0, 0]
    for k in (2, 3):
        assert is_row_of(quantizer.codebook[k], batches[1]), k
        assert float(quantizer.cluster_size[k]) == 1.0
    assert not torch.equal(quantizer.codebook[2], quantizer.codebook[3])  # distinct rows
    torch.testing.assert_close(quantizer.codebook[:2].double(), torch.tensor(reference[-1][0][:2]), rtol=1e-5,
                               atol=1e-5)  # codes 0 and 1 kept their EMA values
    z_e = as_grid(batches[2])
    codes = quantizer(z_e).codes
    idle_before = quantizer.idle_steps.clone()
    restarted = quantizer.update(z_e, codes)
    used = set(codes.flatten().tolist())
    expected = [k for k in range(4) if k not in used and idle_before[k] + 1 >= 2]
    assert 1 in expected and restarted == len(expected)  # code 1, unused since the first batch, goes now
    assert is_row_of(quantizer.codebook[1], batches[2])


def test_perplexity_is_the_number_of_equally_used_codes():
    quantizer = VectorQuantizer(8, 2)
    quantizer.codebook.copy_(torch.arange(16.0).view(8, 2) * 10)
    z_e = as_grid(quantizer.codebook[[0, 1, 2, 3, 0, 1, 2, 3]].numpy())
    assert float(quantizer(z_e).perplexity) == pytest.approx(4.0)
    z_e = as_grid(quantizer.codebook[[0, 0, 0, 1]].numpy())
    p = np.array([0.75, 0.25])
    assert float(quantizer(z_e).perplexity) == pytest.approx(math.exp(-(p * np.log(p)).sum()))


# --- the prior -------------------------------------------------------------------------------------------------------
def strong_prior(num_codes: int, length: int) -> CodeTransformer:
    """A small prior with large random weights: its conditionals are far from uniform."""
    torch.manual_seed(0)
    prior = CodeTransformer(num_codes, length, dim=8, layers=2, heads=2).eval()
    for parameter in prior.parameters():
        torch.nn.init.normal_(parameter, std=1.0)
    return prior


def test_prior_logits_depend_on_earlier_codes_only():
    prior = strong_prior(5, 6)
    codes = torch.randint(5, (3, 6), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        base = prior(codes)  # (3, 6, 5)
        for j in range(6):
            changed = codes.clone()
            changed[:, j] = (changed[:, j] + 1) % 5
            logits = prior(changed)
            torch.testing.assert_close(logits[:, : j + 1], base[:, : j + 1], rtol=0, atol=1e-6)  # positions <= j
            assert ((logits[:, j + 1:] - base[:, j + 1:]).abs().amax(-1) > 1e-4).all(), j  # every later position


def all_sequences(num_codes: int, length: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(num_codes), repeat=length)))


def test_prior_probabilities_of_all_code_grids_sum_to_one():
    prior = strong_prior(3, 4)
    with torch.no_grad():
        total = prior.log_prob(all_sequences(3, 4)).double().exp().sum()
    assert float(total) == pytest.approx(1.0, abs=1e-5)


def test_prior_sampler_draws_each_grid_with_its_probability():
    prior = strong_prior(3, 3)
    grids = all_sequences(3, 3)
    with torch.no_grad():
        probabilities = prior.log_prob(grids).double().exp().numpy()  # (27,)
    n = 20_000
    codes = prior.sample(torch.rand(n, 3, generator=torch.Generator().manual_seed(2)))
    index = (codes * torch.tensor([9, 3, 1])).sum(1)  # the grid's row in `grids`
    counts = np.bincount(index.numpy(), minlength=27)
    assert probabilities.max() > 3 / 27  # far from uniform, so that a wrong sampler shows
    assert stats.chisquare(counts, n * probabilities / probabilities.sum()).pvalue > 1e-3


def test_prior_sampler_with_cached_keys_draws_what_the_full_forward_draws():
    prior = strong_prior(6, 10)
    uniforms = torch.rand(200, 10, generator=torch.Generator().manual_seed(3))
    codes = torch.zeros(200, 10, dtype=torch.long)
    with torch.no_grad():
        for t in range(10):  # the plain sampler: every position's logits from a whole forward pass
            cdf = torch.softmax(prior(codes[:, : t + 1])[:, t] / 0.7, -1).cumsum(-1)
            codes[:, t] = torch.searchsorted(cdf, uniforms[:, t: t + 1].contiguous(), right=True)[:, 0].clamp(max=5)
    cached = prior.sample(uniforms, temperature=0.7)
    assert (cached == codes).float().mean() > 0.99  # a draw on a CDF boundary may round the other way
    assert len(set(codes[:, -1].tolist())) > 3


# --- the module ------------------------------------------------------------------------------------------------------
def test_sample_gives_images_in_the_data_range_reproducibly():
    vq = tiny_module().eval()
    torch.manual_seed(3)
    first = vq.sample(5)
    torch.manual_seed(3)
    assert torch.equal(vq.sample(5), first)
    assert first.shape == (5, 1, 28, 28)
    z = torch.rand(5, 49)
    torch.manual_seed(4)
    same_z = vq.sample(5, z=z)
    assert torch.equal(vq.sample(5, z=z), same_z)  # the uniforms alone decide the draw
    assert torch.equal(vq.sample(4, z=vq.fixed_noise[:4]), vq.sample(4, z=vq.fixed_noise[:4]))  # the image grids'
    for bias in (5.0, -5.0):  # a decoder whose means leave [0, 1]: the images are clamped into it
        with torch.no_grad():
            vq.decoder.net[-1].bias.fill_(bias)
        images = vq.sample(5, z=z)
        assert images.min() >= 0 and images.max() <= 1 and images.std() < 1e-3
    with pytest.raises(InputError, match="unconditional"):
        vq.sample(2, labels=torch.tensor([0, 1]))
    with pytest.raises(InputError, match=r"\(3, 49\)"):
        vq.sample(3, z=torch.rand(3, 10))
    with pytest.raises(InputError, match=r"values in \[0, 1\]"):
        vq.sample(2, z=torch.full((2, 49), 2.0))


def test_encode_decode_and_reconstruct_agree():
    vq = tiny_module().eval()
    x = torch.rand(3, 1, 28, 28)
    codes = vq.encode(x)
    assert codes.shape == (3, 7, 7) and codes.dtype == torch.long
    torch.testing.assert_close(vq.decode(codes), vq.reconstruct(x))
    assert vq.interpolate(x[0], x[1], steps=4).shape == (4, 1, 28, 28)
    with pytest.raises(InputError, match=r"integers in \[0, 8\)"):
        vq.decode(torch.full((1, 7, 7), 8))


class PhaseRecorder(L.Callback):
    """The weights at the end of each training epoch."""

    def __init__(self):
        self.states = []

    def on_train_epoch_end(self, trainer, module):
        self.states.append({k: v.detach().clone() for k, v in module.state_dict().items()})


def changed(before: dict, after: dict, prefix: str) -> bool:
    return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))


def test_one_fit_trains_the_autoencoder_then_only_the_prior_and_reloads(tmp_path):
    torch.manual_seed(0)
    vq = tiny_module(prior_start_epoch=1)
    start = {k: v.detach().clone() for k, v in vq.state_dict().items()}
    recorder = PhaseRecorder()
    trainer = L.Trainer(max_epochs=2, limit_train_batches=3, limit_val_batches=1, logger=False,
                        callbacks=[recorder, ModelCheckpoint(dirpath=tmp_path, save_last=True)],
                        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(vq, Digits(batch_size=16, val_size=32))
    first, second = recorder.states
    assert changed(start, first, "encoder.") and changed(start, first, "decoder.")
    assert changed(start, first, "quantizer.codebook") and not changed(start, first, "prior.")
    assert changed(first, second, "prior.")
    for frozen in ("encoder.", "decoder.", "quantizer."):
        assert not changed(first, second, frozen), frozen
    assert int(vq.quantizer.updates) == 3 and trainer.global_step == 6
    metrics = trainer.callback_metrics
    for name in ("val/mse", "val/psnr", "val/perplexity", "val/codes_used", "val/prior_nll", "val/bits_per_code",
                 "train/prior_nll_epoch", "train/mse_epoch", "train/perplexity_epoch"):
        assert torch.isfinite(metrics[name]), name
    assert metrics["val/bits_per_code"] == pytest.approx(float(metrics["val/prior_nll"]) / (49 * math.log(2)))
    loaded = VQVAEModule.load_from_checkpoint(tmp_path / "last.ckpt", weights_only=True).eval()
    for name, value in vq.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], value, rtol=0, atol=0, msg=name)
    z = torch.rand(4, 49)
    torch.testing.assert_close(loaded.sample(4, z=z), vq.eval().sample(4, z=z), rtol=0, atol=0)
    exported = folders.load_folder(folders.export_checkpoint(tmp_path / "last.ckpt", tmp_path / "weights").parent)
    assert isinstance(exported, VQVAEModule)  # a weights folder, as a zoo entry ships
    torch.testing.assert_close(exported.sample(4, z=z), vq.sample(4, z=z), rtol=0, atol=0)


def recipe_args(mnist_root, tmp_path, *extra: str) -> list[str]:
    """The recipe on the test's fake MNIST, with the phase switch after epoch 0 and small networks (for speed)."""
    small = [f"--model.{net}.init_args.{name}={value}" for net in ("encoder", "decoder")
             for name, value in (("hidden", 8), ("residual_hidden", 4), ("residual_layers", 1))]
    small += [f"--model.prior.init_args.{name}={value}" for name, value in (("dim", 16), ("layers", 1), ("heads", 2))]
    return ["--config", RECIPE, *small, "--data.root", str(mnist_root), "--data.download", "false",
            "--data.val_size", "56", "--model.prior_start_epoch", "1", "--trainer.limit_val_batches", "1",
            "--trainer.logger", "false", "--seed_everything", "0", "--trainer.deterministic", "true",
            "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path), *extra]


@pytest.mark.slow
def test_a_run_resumed_across_the_phase_switch_ends_with_the_same_weights(mnist_root, tmp_path):
    straight = main(["fit", *recipe_args(mnist_root, tmp_path / "a", "--trainer.max_epochs", "3")])
    main(["fit", *recipe_args(mnist_root, tmp_path / "b", "--trainer.max_epochs", "2")])
    last = next((tmp_path / "b").rglob("last.ckpt"))
    resumed = main(["fit", *recipe_args(mnist_root, tmp_path / "b", "--trainer.max_epochs", "3"), "--ckpt_path",
                    str(last)])
    got, expected = resumed.model.state_dict(), straight.model.state_dict()
    assert got.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0, atol=0, msg=name)


@pytest.mark.slow
def test_lightning_test_reports_reconstructions_codes_prior_nll_and_fid(mnist_root, tmp_path):
    fit = main(["fit", *recipe_args(mnist_root, tmp_path, "--trainer.max_epochs", "2",
                                    "--trainer.limit_train_batches", "1")])
    checkpoint = fit.trainer.checkpoint_callback.last_model_path
    test = main(["test", *recipe_args(mnist_root, tmp_path, "--trainer.limit_test_batches", "1",
                                      "--trainer.callbacks.num_samples", "100"), "--ckpt_path", checkpoint])
    report = json.loads((Path(test.trainer.default_root_dir) / "test_results.json").read_text())
    for name in ("test/mse", "test/psnr", "test/ssim", "test/perplexity", "test/codes_used", "test/prior_nll",
                 "test/bits_per_code", "test/commitment", "test/fid", "test/kid_mean"):
        assert np.isfinite(report["metrics"][name]), name
    assert report["protocols"]["SampleQuality"]["num_generated"] == 100
    assert "nats per image" in report["protocols"]["VQVAEModule"]["prior_nll"]
