"""FID / KID / IS: sanity from their definitions, agreement with an independent scipy computation, the
real-statistics cache, DDP reduction, the offline Inception path, and `lightning test` reports."""

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file
from torch import nn

from tests.conftest import REPO
from zoo.callbacks import SampleQuality
from zoo.cli.lightning_cli import main
from zoo.data import Digits
from zoo.metrics.extractors import DIGIT_CLASSIFIER_WEIGHTS, DigitFeatures, InceptionFeatures, sha256_of
from zoo.metrics.fid import ImageQuality


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    data = Digits()
    data.setup("fit")
    return data.train_set.dataset.tensors[0].float() / 255  # (1500, 1, 28, 28)


def fid_of(real: torch.Tensor, fake: torch.Tensor, extractor: nn.Module | None = None) -> dict:
    quality = ImageQuality(extractor or DigitFeatures(), kid_subset_size=100, kid_subsets=20)
    quality.update(real, real=True)
    quality.update(fake, real=False)
    return quality.compute()


@pytest.mark.slow
def test_fid_of_a_set_against_itself_is_zero(digits):
    results = fid_of(digits, digits)
    assert abs(results["fid"]) < 1e-3
    assert abs(results["kid_mean"]) < 3 * results["kid_std"] / 20**0.5  # unbiased: zero within its error


@pytest.mark.slow
def test_fid_and_kid_grow_with_added_noise(digits):
    generator = torch.Generator().manual_seed(0)
    noisy = [fid_of(digits, (digits + s * torch.randn(digits.shape, generator=generator)).clamp(0, 1))
             for s in (0.05, 0.15, 0.4)]
    fids, kids = [r["fid"] for r in noisy], [r["kid_mean"] for r in noisy]
    assert 0.1 < fids[0] < fids[1] < fids[2]
    assert kids[1] > 3 * noisy[1]["kid_std"] / 20**0.5 and kids[2] > kids[1]  # KID is noisier: from 0.15 on


@pytest.mark.slow
def test_a_small_evaluation_does_not_shrink_the_kid_subsets_of_the_next(digits):
    def kid(quality: ImageQuality, fake: torch.Tensor) -> float:
        quality.reset_generated()
        quality.update(fake, real=False)
        return quality.compute()["kid_mean"]

    extractor = DigitFeatures()
    reused, fresh = (ImageQuality(extractor, kid_subset_size=200, kid_subsets=10) for _ in range(2))
    for quality in (reused, fresh):
        quality.update(digits[:500], real=True)
    kid(reused, digits[500:550])  # 50 generated images: subsets of 50 this time only
    assert kid(reused, digits[600:1000]) == kid(fresh, digits[600:1000])  # subsets of 200 again


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
def test_fid_agrees_with_an_independent_scipy_frechet_distance(digits):
    extractor = DigitFeatures()
    real, fake = digits[:800], (digits[800:] + 0.1 * torch.randn_like(digits[800:])).clamp(0, 1)
    with torch.no_grad():
        f_real, f_fake = (extractor(x)[0].double().numpy() for x in (real, fake))
    mu1, mu2 = f_real.mean(0), f_fake.mean(0)
    s1, s2 = np.cov(f_real, rowvar=False), np.cov(f_fake, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real  # singular where a ReLU feature never fires: fine for sqrtm
    expected = float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))
    assert fid_of(real, fake, extractor)["fid"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow
def test_inception_score_of_the_digit_classifier_rewards_diverse_confident_samples(digits):
    quality = ImageQuality(DigitFeatures(), kid=False)
    quality.update(digits, real=True)
    quality.update(digits, real=False)
    diverse = quality.compute()["inception_score_mean"]
    quality.reset_generated()
    quality.update(digits[:1].expand(len(digits), -1, -1, -1), real=False)  # one image repeated
    repeated = quality.compute()["inception_score_mean"]
    assert repeated == pytest.approx(1.0, abs=1e-3) and diverse > 3  # exp(KL(p(y|x) || p(y))): 1 for one image


def test_shipped_digit_classifier_matches_its_model_card():
    card = (DIGIT_CLASSIFIER_WEIGHTS.parent / "README.md").read_text()
    assert sha256_of(DIGIT_CLASSIFIER_WEIGHTS) in card and "Test accuracy" in card
    stored = load_file(str(DIGIT_CLASSIFIER_WEIGHTS))
    assert set(stored) == set(DigitFeatures().net.state_dict())


class CountingFeatures(DigitFeatures):
    def __init__(self):
        super().__init__()
        self.images_seen = 0

    def forward(self, images):
        self.images_seen += len(images)
        return super().forward(images)


class FakeTrainer:
    fast_dev_run = False


def test_real_statistics_are_cached_and_reused(tmp_path):
    data = Digits()
    data.setup("test")
    first, second = (SampleQuality(cache_dir=str(tmp_path), num_real=200, batch_size=64) for _ in range(2))
    for callback in (first, second):
        callback.quality = ImageQuality(CountingFeatures())
        callback.prepare(data, "test", torch.device("cpu"), num_real=200, rank=0)
    assert first.quality.extractor.images_seen == 200 and second.quality.extractor.images_seen == 0
    assert len(list(tmp_path.glob("*.safetensors"))) == 1
    for name in ("real_features_sum", "real_features_cov_sum", "real_features_num_samples"):
        torch.testing.assert_close(getattr(first.quality.fid, name), getattr(second.quality.fid, name))
    torch.testing.assert_close(torch.cat(first.quality.kid.real_features), torch.cat(second.quality.kid.real_features))


def ddp_worker(rank: int, world: int, port: int, real: torch.Tensor, fake: torch.Tensor, out: dict) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    quality = ImageQuality(DigitFeatures(), kid_subset_size=100, kid_subsets=10)
    if rank == 0:
        quality.update(real, real=True)
    else:
        quality.hold_no_real()
    quality.update(fake[rank::world], real=False)  # each rank its share of the samples
    out[rank] = quality.compute()
    torch.distributed.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_metrics_reduce_across_ddp_ranks_to_the_single_process_values(digits):
    real = digits[:600]
    fake = (digits[600:1200] + 0.1 * torch.randn(600, 1, 28, 28, generator=torch.Generator().manual_seed(0)))
    fake = fake.clamp(0, 1)
    single = ImageQuality(DigitFeatures(), kid_subset_size=100, kid_subsets=10)
    single.update(real, real=True)
    for rank in (0, 1):  # in the order the ranks' features are gathered
        single.update(fake[rank::2], real=False)
    expected = single.compute()
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(ddp_worker, args=(2, free_port(), real, fake, out), nprocs=2, join=True)
        results = dict(out)
    for rank in (0, 1):
        for name in ("fid", "kid_mean", "kid_std", "inception_score_mean"):
            assert results[rank][name] == pytest.approx(expected[name], rel=1e-6), (rank, name)


@pytest.mark.slow
def test_inception_extractor_runs_offline_from_a_local_weights_file(tmp_path, monkeypatch):
    from torch_fidelity import feature_extractor_inceptionv3 as fidelity

    with monkeypatch.context() as patch:  # build a randomly initialised network, without any download
        patch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: {})
        patch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        network = fidelity.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    weights = tmp_path / "inception.pth"
    torch.save(network.state_dict(), weights)
    monkeypatch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: pytest.fail("tried to download"))
    extractor = InceptionFeatures(weights_path=weights)
    features, logits = extractor(torch.rand(2, 1, 28, 28))
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    assert extractor.protocol["weights_sha256"] == sha256_of(weights)
    with pytest.raises(FileNotFoundError, match="Inception weights file not found"):
        InceptionFeatures(weights_path=tmp_path / "missing.pth")


def run_test_command(recipe: str, tmp_path, *extra: str) -> dict:
    common = ["--config", str(REPO / recipe), "--trainer.default_root_dir", str(tmp_path)]
    fit = main(["fit", *common, "--trainer.max_steps", "3", "--trainer.limit_val_batches", "1", *extra])
    checkpoint = fit.trainer.checkpoint_callback.last_model_path
    test = main(["test", *common, "--ckpt_path", checkpoint, "--trainer.limit_test_batches", "1", *extra])
    report = json.loads((Path(test.trainer.log_dir) / "test_results.json").read_text())
    assert report["ckpt_path"] == checkpoint
    return report


@pytest.mark.slow
def test_lightning_test_reports_vae_likelihoods_reconstructions_and_fid_to_json(tmp_path):
    report = run_test_command("configs/vae/mlp_digits.yaml", tmp_path, "--model.test_nll.num_samples", "10",
                              "--trainer.callbacks.num_samples", "300")  # the last callback: SampleQuality
    for name in ("test/elbo", "test/nll", "test/bits_per_dim", "test/mse", "test/psnr", "test/ssim", "test/fid",
                 "test/kid_mean", "test/inception_score_mean"):
        assert np.isfinite(report["metrics"][name]), name
    stamp = report["protocols"]["SampleQuality"]
    assert stamp["num_generated"] == 300 and stamp["num_real"] == 297 and stamp["real_split"] == "test"
    assert stamp["weights_sha256"] == sha256_of(DIGIT_CLASSIFIER_WEIGHTS)
    assert "k=10 " in report["protocols"]["VAEModule"]["nll"]


@pytest.mark.slow
def test_lightning_test_reports_the_toy_gan_mode_statistics(tmp_path):
    report = run_test_command("configs/gan/toy_ring.yaml", tmp_path, "--trainer.max_time", "null")
    assert {"test/modes", "test/high_quality", "test/reverse_kl", "test/d_loss"} <= set(report["metrics"])
    assert report["protocols"]["ToyModes"]["num_points"] == 2500


@pytest.mark.slow
def test_lightning_test_reports_gan_fid_and_kid_with_the_domain_extractor(tmp_path, mnist_root):
    report = run_test_command("configs/gan/dcgan_mnist.yaml", tmp_path, "--data.root", str(mnist_root),
                              "--data.val_size", "56",
                              "--trainer.callbacks.num_samples", "200")
    assert {"test/fid", "test/kid_mean", "test/kid_std", "test/inception_score_mean"} <= set(report["metrics"])
    stamp = report["protocols"]["SampleQuality"]
    assert stamp["data"] == "MNIST" and stamp["num_real"] == 64 and stamp["num_generated"] == 200
    # the recipe has an EMA generator: the trained generator is measured too, on the same noise
    assert {"test/fid_live", "test/kid_mean_live", "test/inception_score_mean_live"} <= set(report["metrics"])
    assert report["metrics"]["test/fid_live"] != report["metrics"]["test/fid"]
    assert stamp["sampler"] == "EMA generator; *_live: the trained generator"


@pytest.mark.slow
def test_sample_quality_evaluates_every_n_epochs_during_training(tmp_path):
    fit = main(["fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--trainer.default_root_dir",
                str(tmp_path), "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "2",
                "--trainer.limit_val_batches", "1", "--trainer.callbacks.every_n_epochs", "1",
                "--trainer.callbacks.num_samples", "100", "--trainer.logger", "false"])
    callback = next(c for c in fit.trainer.callbacks if isinstance(c, SampleQuality))
    assert callback.protocol["num_generated"] == 100
    assert torch.isfinite(fit.trainer.callback_metrics["val/fid"])
    assert callback.protocol["real_split"] == "val"  # model selection never looks at the test split


class RecordingSampleQuality(SampleQuality):
    """Writes what each rank computed, so the test can compare ranks after ddp_spawn."""

    def __init__(self, folder: str, **kwargs):
        super().__init__(**kwargs)
        self.folder = folder

    def evaluate(self, trainer, module, stage):
        results = super().evaluate(trainer, module, stage)
        Path(self.folder, f"rank{trainer.global_rank}.json").write_text(json.dumps({**results, **self.protocol}))
        return results


@pytest.mark.slow
def test_sample_quality_under_lightning_ddp_agrees_across_ranks(tmp_path):
    import lightning as L

    from zoo import VAEModule
    from zoo.nets import MLPDecoder, MLPEncoder

    callback = RecordingSampleQuality(str(tmp_path), every_n_epochs=1, num_samples=101)
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", max_epochs=1, limit_train_batches=2,
                        limit_val_batches=1, callbacks=[callback], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, default_root_dir=tmp_path)
    model = VAEModule(MLPEncoder, MLPDecoder, image_shape=(1, 28, 28), latent_dim=4)
    trainer.fit(model, Digits(batch_size=32))
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1]  # every metric and protocol entry identical: the states were reduced
    assert ranks[0]["num_generated"] == 101 and ranks[0]["num_real"] == 200  # Digits' validation split
    assert np.isfinite(ranks[0]["fid"]) and trainer.callback_metrics["val/fid"] == pytest.approx(ranks[0]["fid"])
