"""Variational auto-encoder (Kingma & Welling 2014) trained on the ELBO, or on the IWAE bound (Burda et al. 2016).

ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)), in nats per image, with
q(z|x) = N(mu(x), diag sigma(x)^2) sampled as z = mu + eps * sigma, eps ~ N(0, I), and p(z) = N(0, s^2 I).
The KL is in closed form (torch.distributions). Options: a weight beta on the KL (Higgins et al. 2017),
linear KL warm-up, free bits (Kingma et al. 2016), the k-sample IWAE bound, class conditioning.
"""

import math
import warnings
from collections.abc import Callable
from typing import Literal

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch.distributions import Distribution, kl_divergence
from torchmetrics import MeanSquaredError
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from zoo import hub
from zoo.distributions import BernoulliLikelihood, diagonal_gaussian, gaussian_prior
from zoo.errors import InputError
from zoo.factories import build, keep_factories_as_configs
from zoo.metrics.likelihood import bits_per_dim, importance_sampled_log_likelihood
from zoo.modules.guards import check_finite
from zoo.modules.inputs import check_count, check_images, check_labels, check_latents, check_values
from zoo.modules.train_logs import TrainLogs
from zoo.nets import MLPDecoder, MLPEncoder

# Networks are given as classes (or partials) and built here for the data's shape:
# encoder(image_shape, out_features, num_classes) and decoder(image_shape, latent_dim, num_classes).
NetFactory = Callable[[tuple, int, int], nn.Module]
LikelihoodFactory = Callable[[tuple], nn.Module]
FACTORIES = ("encoder", "decoder", "likelihood", "optimizer", "lr_scheduler")
ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. 2016: a unit is active if Cov_x(E_q[z_j]) > 0.01
# These are reduced across processes before they are logged (on_validation_epoch_end), so Lightning's advice, once
# per latent dimension, to log them with sync_dist=True does not apply.
warnings.filterwarnings("ignore", message=r"It is recommended to use `self.log\('val/(active_units|kl_dim/\d+)'")


class VAEModule(L.LightningModule):
    def __init__(
        self,
        encoder: NetFactory = MLPEncoder,
        decoder: NetFactory = MLPDecoder,
        likelihood: LikelihoodFactory = BernoulliLikelihood,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 32,
        num_classes: int = 0,
        prior_scale: float = 1.0,
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        free_bits: float = 0.0,
        objective: Literal["elbo", "iwae"] = "elbo",
        num_samples: int = 1,
        test_num_samples: int = 5000,
        compile_test: bool = False,  # torch.compile the IS-NLL's decoder and likelihood (see zoo.metrics.likelihood)
        optimizer: OptimizerCallable = torch.optim.Adam,
        lr_scheduler: LRSchedulerCallable | None = None,
    ):
        super().__init__()
        image_shape = tuple(image_shape)
        check_hyperparameters(latent_dim, num_classes, prior_scale, beta, kl_warmup_steps, free_bits,
                              objective, num_samples, test_num_samples)
        self.save_hyperparameters()
        keep_factories_as_configs(self.hparams, FACTORIES)
        self.encoder = build(encoder, image_shape, 2 * latent_dim, num_classes)
        self.decoder = build(decoder, image_shape, latent_dim, num_classes)
        self.likelihood = build(likelihood, image_shape)
        fixed = torch.randn(64, latent_dim, generator=torch.Generator().manual_seed(0)) * prior_scale
        self.register_buffer("fixed_noise", fixed)  # the same z for every sample grid
        check_networks(self.encoder, self.decoder, image_shape, latent_dim, num_classes)
        self.train_logs = TrainLogs()
        self.test_mse = MeanSquaredError()
        self.test_psnr = PeakSignalNoiseRatio(data_range=1.0)
        self.test_ssim = StructuralSimilarityIndexMeasure(data_range=1.0)

    # --- the model -------------------------------------------------------------------------------
    @property
    def prior(self) -> Distribution:
        return gaussian_prior(self.hparams.latent_dim, self.hparams.prior_scale, self.device, self.dtype)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | int | None = None) -> Distribution:
        """q(z|x) for images x (B, C, H, W): an Independent Normal with batch shape (B,) and event shape (L,)."""
        x, labels = self.checked_images(x, labels, "encode")
        return self._encode(x, labels)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | int | None = None) -> Distribution:
        """p(x|z) for z of shape (..., L): batch shape (...), event shape (C, H, W)."""
        z = check_latents(z, self.hparams.latent_dim, "decode")
        return self._decode(z, check_labels(labels, self.hparams.num_classes, z.shape[:-1], "decode", self.device))

    def _encode(self, x: torch.Tensor, labels: torch.Tensor | None) -> Distribution:
        """encode, unchecked: for the training step."""
        return diagonal_gaussian(self.encoder(x, labels))

    def _decode(self, z: torch.Tensor, labels: torch.Tensor | None) -> Distribution:
        """decode, unchecked: for the training step."""
        lead = z.shape[:-1]
        if labels is not None:
            labels = labels.expand(lead).reshape(-1)
        params = self.decoder(z.reshape(-1, z.shape[-1]), labels)  # (N, C, H, W)
        return self.likelihood(params.view(*lead, *params.shape[1:]))

    def checked_images(self, x, labels, where: str, batched: bool = True):
        """Images and labels as the model takes them, or an InputError that says what was expected."""
        hp = self.hparams
        x = check_images(x, hp.image_shape, where, isinstance(self.likelihood, BernoulliLikelihood), batched)
        batch = (len(x),) if batched else (1,)  # one image: one label
        return x.to(self.device), check_labels(labels, hp.num_classes, batch, where, self.device)

    def log_importance_weights(self, x, labels, posterior, num_samples: int, reparameterize: bool = True,
                               log_likelihood: Callable | None = None):
        """log p(x|z) + log p(z) - log q(z|x) for `num_samples` z ~ q per image: (num_samples, B).
        `log_likelihood` may replace `self.log_likelihood` (a compiled copy, say)."""
        z = posterior.rsample((num_samples,)) if reparameterize else posterior.sample((num_samples,))
        log_px = (log_likelihood or self.log_likelihood)(z, x, labels)
        return log_px + self.prior.log_prob(z) - posterior.log_prob(z)

    def log_likelihood(self, z: torch.Tensor, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x|z) for z (..., B, L) and x (B, C, H, W): (..., B)."""
        return self._decode(z, labels).log_prob(x)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | int | None = None, z: torch.Tensor | None = None) -> torch.Tensor:
        """Mean images of p(x|z), z ~ p(z) (or the given z, n rows): (n, C, H, W). `labels`: (n,) or one int."""
        n = check_count(n, "n", "sample")
        z = self.prior.sample((n,)) if z is None else check_latents(z, self.hparams.latent_dim, "sample", n)
        labels = check_labels(labels, self.hparams.num_classes, (n,), "sample", self.device)
        return self._decode(z.to(self.device), labels).mean

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | int | None = None) -> torch.Tensor:
        """Mean of p(x|z) at z = E_q[z|x], for images x (B, C, H, W)."""
        x, labels = self.checked_images(x, labels, "reconstruct")
        return self._decode(self._encode(x, labels).mean, labels).mean

    @torch.no_grad()
    def interpolate(self, x1: torch.Tensor, x2: torch.Tensor, steps: int = 10,
                    labels: torch.Tensor | int | None = None) -> torch.Tensor:
        """Decode `steps` points on the line between the posterior means of two images (C, H, W), of one class
        (`labels`: an int) for a conditional model: (steps, C, H, W)."""
        steps = check_count(steps, "steps", "interpolate", minimum=2)
        (x1, labels), (x2, _) = (self.checked_images(x, labels, "interpolate", batched=False) for x in (x1, x2))
        labels = None if labels is None else labels.reshape(1)
        z1, z2 = (self._encode(x[None], labels).mean for x in (x1, x2))
        t = torch.linspace(0, 1, steps, device=self.device, dtype=z1.dtype)[:, None]  # (steps, 1)
        return self._decode((1 - t) * z1 + t * z2, labels).mean

    # --- the objective ---------------------------------------------------------------------------
    def beta_now(self) -> float:
        warmup = self.hparams.kl_warmup_steps
        ramp = min(1.0, (self.global_step + 1) / warmup) if warmup > 0 else 1.0
        return self.hparams.beta * ramp

    def step(self, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """Loss and logs for one batch; also the posterior means (B, L) and per-dimension KL (B, L)."""
        x, labels = self.unpack(batch)
        hp = self.hparams
        posterior = self._encode(x, labels)
        z = posterior.rsample((hp.num_samples,))  # (k, B, L)
        log_px = self._decode(z, labels).log_prob(x)  # (k, B)
        kl_per_dim = kl_divergence(posterior.base_dist, self.prior.base_dist)  # (B, L), closed form
        kl = kl_per_dim.sum(-1)
        reconstruction = log_px.mean(0)
        elbo = reconstruction - kl
        beta = self.beta_now()
        logs = {"elbo": elbo.mean(), "reconstruction": reconstruction.mean(), "kl": kl.mean(),
                "beta": torch.full((), beta)}
        if hp.objective == "iwae":
            log_w = log_px + self.prior.log_prob(z) - posterior.log_prob(z)
            bound = torch.logsumexp(log_w, 0) - math.log(hp.num_samples)
            logs["iwae_bound"] = bound.mean()
            loss = -logs["iwae_bound"]
        else:
            kl_term = kl_per_dim.mean(0).clamp(min=hp.free_bits).sum() if hp.free_bits > 0 else logs["kl"]
            loss = -(logs["reconstruction"] - beta * kl_term)
        logs["loss"] = loss
        return loss, logs, posterior.mean, kl_per_dim

    def unpack(self, batch):
        x, labels = batch
        return x, (labels if self.hparams.num_classes > 0 else None)

    # --- Lightning hooks -------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        dims = getattr(datamodule, "dims", None)
        if dims is not None and tuple(dims) != tuple(self.hparams.image_shape):
            raise InputError(
                f"the data gives images of shape {tuple(dims)} but the model was built for "
                f"{tuple(self.hparams.image_shape)}: build the model with image_shape={tuple(dims)}"
            )

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        if batch_idx == 0:
            self.check_first_batch(batch, "training")

    def on_validation_batch_start(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        if batch_idx == 0:
            self.check_first_batch(batch, "validation")

    def on_test_batch_start(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        if batch_idx == 0:
            self.check_first_batch(batch, "test")

    def check_first_batch(self, batch, stage: str) -> None:
        """An epoch's first batch of data must be what the likelihood models: one host sync per epoch."""
        check_values(batch[0], f"VAEModule: the first {stage} batch", isinstance(self.likelihood, BernoulliLikelihood))

    def training_step(self, batch, batch_idx):
        loss, logs, _, _ = self.step(batch)
        check_finite(self, logs, ("reconstruction", "kl", "loss"), inputs=batch[0])
        self.train_logs.update(self, logs, len(batch[0]))
        return loss

    def on_train_epoch_end(self) -> None:
        self.train_logs.log_epoch(self)

    def on_validation_epoch_start(self) -> None:
        self._val_sums = None

    def validation_step(self, batch, batch_idx):
        _, logs, mean, kl_per_dim = self.step(batch)
        self.log_dict({f"val/{k}": v for k, v in logs.items() if k != "elbo"}, batch_size=len(batch[0]),
                      sync_dist=True)
        self.log("val/elbo", logs["elbo"], prog_bar=True, batch_size=len(batch[0]), sync_dist=True)
        sums = torch.stack([mean.sum(0), (mean**2).sum(0), kl_per_dim.sum(0)])  # (3, L)
        count = torch.tensor(len(mean), device=mean.device, dtype=mean.dtype)
        self._val_sums = (sums, count) if self._val_sums is None else (
            self._val_sums[0] + sums, self._val_sums[1] + count)

    def on_validation_epoch_end(self) -> None:
        if self._val_sums is None:
            return
        sums = self.trainer.strategy.reduce(self._val_sums[0], reduce_op="sum")
        count = self.trainer.strategy.reduce(self._val_sums[1], reduce_op="sum")
        mean_mu, mean_mu2, mean_kl = sums / count
        variance = mean_mu2 - mean_mu**2  # Cov_x E_q[z_j], per dimension
        self.log("val/active_units", (variance > ACTIVE_UNIT_THRESHOLD).sum().float())
        self.log_dict({f"val/kl_dim/{j:03d}": v for j, v in enumerate(mean_kl)})

    def test_step(self, batch, batch_idx):
        x, labels = self.unpack(batch)
        _, logs, _, _ = self.step(batch)
        nll = -importance_sampled_log_likelihood(self, x, labels, self.hparams.test_num_samples,
                                                 compile=self.hparams.get("compile_test", False))
        recon = self._decode(self._encode(x, labels).mean, labels).mean
        self.test_mse(recon, x)
        self.test_psnr(recon, x)
        self.test_ssim(recon.float(), x.float())
        n = len(x)
        self.log_dict({"test/elbo": logs["elbo"], "test/reconstruction": logs["reconstruction"],
                       "test/kl": logs["kl"], "test/nll": nll.mean(),
                       "test/bits_per_dim": bits_per_dim(nll, x[0].numel()).mean()}, batch_size=n, sync_dist=True)
        self.log_dict({"test/mse": self.test_mse, "test/psnr": self.test_psnr, "test/ssim": self.test_ssim},
                      batch_size=n)

    @property
    def test_protocol(self) -> dict:
        """How `lightning test` measured this module (written into its JSON report)."""
        return {"nll": f"importance sampling, k={self.hparams.test_num_samples} samples of q(z|x) per image, nats",
                "bits_per_dim": "nll / (pixels * ln 2)",
                "reconstructions": "mean of p(x|z) at z = E_q[z|x]; MSE, PSNR (data range 1), SSIM"}

    def predict_step(self, batch, batch_idx):
        x, labels = self.unpack(batch)
        return self.reconstruct(x, labels)

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, *args, **kwargs):
        """Lightning's loader, after checking the file is readable and is a VAEModule checkpoint."""
        hub.check_checkpoint_kind(checkpoint_path, "zoo.VAEModule")
        return super().load_from_checkpoint(checkpoint_path, *args, **kwargs)

    def configure_optimizers(self):
        optimizer = build(self.hparams.optimizer, self.parameters())
        if self.hparams.lr_scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": build(self.hparams.lr_scheduler, optimizer)}


def check_hyperparameters(latent_dim, num_classes, prior_scale, beta, kl_warmup_steps, free_bits,
                          objective, num_samples, test_num_samples) -> None:
    problems = [
        (latent_dim < 1, f"latent_dim must be >= 1, got {latent_dim}"),
        (num_classes < 0, f"num_classes must be >= 0, got {num_classes}"),
        (prior_scale <= 0, f"prior_scale must be > 0, got {prior_scale}"),
        (beta < 0, f"beta must be >= 0, got {beta}"),
        (kl_warmup_steps < 0, f"kl_warmup_steps must be >= 0, got {kl_warmup_steps}"),
        (free_bits < 0, f"free_bits must be >= 0, got {free_bits}"),
        (objective not in ("elbo", "iwae"), f"objective must be 'elbo' or 'iwae', got {objective!r}"),
        (num_samples < 1, f"num_samples (k) must be >= 1, got {num_samples}"),
        (test_num_samples < 1, f"test_num_samples (k) must be >= 1, got {test_num_samples}"),
        (objective == "iwae" and (beta != 1 or free_bits > 0 or kl_warmup_steps > 0),
         "the IWAE bound has no KL term: leave beta=1, free_bits=0 and kl_warmup_steps=0"),
    ]
    for failed, message in problems:
        if failed:
            raise InputError(f"VAEModule: {message}")


@torch.no_grad()
def check_networks(encoder: nn.Module, decoder: nn.Module, image_shape, latent_dim, num_classes) -> None:
    """Run both networks once on zeros so a shape mismatch fails at set-up, not mid-epoch."""
    labels = torch.zeros(2, dtype=torch.long) if num_classes else None
    modes = encoder.training, decoder.training
    encoder.eval(), decoder.eval()  # no batch-norm statistics from the dummy batch
    try:
        for net, given, want in [(encoder, torch.zeros(2, *image_shape), (2, 2 * latent_dim)),
                                 (decoder, torch.zeros(2, latent_dim), (2, *image_shape))]:
            try:
                got = tuple(net(given, labels).shape)
            except RuntimeError as error:
                raise InputError(f"{type(net).__name__} cannot take input of shape {tuple(given.shape[1:])} "
                                 f"(images {tuple(image_shape)}, latent_dim {latent_dim}): {error}") from error
            if got != want:
                raise InputError(f"{type(net).__name__} maps {tuple(given.shape)} to {got}; "
                                 f"the VAE needs {want} for images {tuple(image_shape)}")
    finally:
        encoder.train(modes[0]), decoder.train(modes[1])
