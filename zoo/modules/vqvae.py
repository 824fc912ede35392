"""VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation Learning") with a learned prior over its codes.

An encoder maps an image to a grid of vectors z_e (MNIST: 7x7), each replaced by its nearest codebook vector
(zoo.nets.quantizer: EMA codebook, dead-code restarts, straight-through gradient); the decoder maps the grid of
code vectors back to pixel means. Training has two phases within one `fit`:

1. epochs < `prior_start_epoch`: the auto-encoder, on loss = MSE(x, x_hat) + beta * commitment, both means over
   elements (pixels; latent coordinates) as in the paper's and Sonnet's code, beta = `commitment_cost` (0.25);
   the MSE is a Gaussian likelihood of fixed variance up to scale. The codebook follows by EMA after each step.
   The decoder's output is linear (a sigmoid's saturation let the ReLUs before it die on MNIST's black background);
   the images the module returns, and those the evaluation measures, are clamped to the data range [0, 1].
2. from `prior_start_epoch` on: the auto-encoder is frozen (eval mode, no updates) and only the prior over the
   flattened code grid (zoo.nets.CodeTransformer, autoregressive) trains, by cross-entropy on the codes of the
   training images: its NLL in nats per image (summed over the grid's positions) and bits per code.

`sample(n)` draws a code grid from the prior, position by position, and decodes it. Its randomness is a
(n, positions) tensor of uniforms `z` (inverse-CDF sampling), so a fixed `z` gives fixed samples as a VAE's fixed
noise does (`fixed_noise`, for the image grids). Both phases use manual optimisation with one optimiser each, so a
checkpoint holds both optimisers' states and a resumed run continues in the phase its epoch says.
"""

import math
from collections.abc import Callable

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn
from torch.nn import functional as F
from torchmetrics import MeanSquaredError
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from zoo.base import ZooModule
from zoo.errors import InputError, refuse
from zoo.factories import build, keep_factories_as_configs
from zoo.modules.guards import check_finite
from zoo.modules.inputs import check_count, check_images, check_labels, check_latents, check_values
from zoo.modules.train_logs import TrainLogs
from zoo.nets import CodeTransformer, VQDecoder, VQEncoder
from zoo.nets.quantizer import VectorQuantizer, perplexity

# encoder(image_shape, code_dim) and decoder(image_shape, code_dim); prior(num_codes, length)
NetFactory = Callable[[tuple, int], nn.Module]
FACTORIES = ("encoder", "decoder", "prior", "optimizer", "prior_optimizer", "lr_scheduler", "prior_lr_scheduler")


class VQVAEModule(ZooModule):
    """A VQ-VAE trained in two phases within one fit: the auto-encoder and its codebook, then a prior over the codes.

    Args:
        encoder: the network from images to a grid of code_dim vectors, built as encoder(image_shape, code_dim).
        decoder: the network from a grid of code vectors to images, built as decoder(image_shape, code_dim).
        prior: the autoregressive prior over the code grid, built as prior(num_codes, grid positions).
        image_shape: (C, H, W); a recipe links it from the data module.
        num_codes: K, the codebook's size.
        code_dim: D, the size of each code vector.
        commitment_cost: beta on the commitment loss ||z_e - sg[e]||^2 (the paper: 0.25).
        codebook_decay: the decay of the codebook's exponential moving averages (the paper's gamma).
        codebook_epsilon: the Laplace smoothing of the codes' counts.
        restart_after: training batches without a vector before a code is restarted at an encoder output.
        prior_start_epoch: the first epoch of phase 2, which trains the prior on the frozen codes.
        temperature: sample() draws from p(c_t | c_<t)^(1/temperature).
        optimizer: the auto-encoder's optimizer.
        prior_optimizer: the prior's optimizer.
        lr_scheduler: the auto-encoder's learning-rate schedule, stepped after each of its epochs.
        prior_lr_scheduler: the prior's, stepped after each of its epochs.
    """

    @staticmethod
    def sampler_description(init_args: dict) -> str:
        """What sample(n) draws from, in words, for the card."""
        return "the learned transformer prior over the code grid"

    def __init__(
        self,
        encoder: NetFactory = VQEncoder,
        decoder: NetFactory = VQDecoder,
        prior: Callable[[int, int], nn.Module] = CodeTransformer,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        num_codes: int = 64,
        code_dim: int = 32,
        commitment_cost: float = 0.25,
        codebook_decay: float = 0.99,
        codebook_epsilon: float = 1e-5,
        restart_after: int = 100,
        prior_start_epoch: int = 10,
        temperature: float = 1.0,
        optimizer: OptimizerCallable = torch.optim.Adam,
        prior_optimizer: OptimizerCallable = torch.optim.Adam,
        lr_scheduler: LRSchedulerCallable | None = None,
        prior_lr_scheduler: LRSchedulerCallable | None = None,
    ):
        super().__init__()
        image_shape = tuple(image_shape)
        check_hyperparameters(num_codes, code_dim, commitment_cost, codebook_decay, codebook_epsilon, restart_after,
                              prior_start_epoch, temperature)
        self.save_hyperparameters()
        keep_factories_as_configs(self.hparams, FACTORIES)
        self.automatic_optimization = False
        self.encoder = build(encoder, image_shape, code_dim)
        self.decoder = build(decoder, image_shape, code_dim)
        self.quantizer = VectorQuantizer(num_codes, code_dim, codebook_decay, codebook_epsilon, restart_after)
        self.grid_shape = check_networks(self.encoder, self.decoder, image_shape, code_dim)  # (h, w)
        self.prior = build(prior, num_codes, math.prod(self.grid_shape))
        fixed = torch.rand(64, math.prod(self.grid_shape), generator=torch.Generator().manual_seed(0))
        self.register_buffer("fixed_noise", fixed)  # the same uniforms, hence the same codes, for every sample grid
        self.train_logs = TrainLogs()
        self.reconstruction_metrics = nn.ModuleDict({stage: nn.ModuleDict(
            {"mse": MeanSquaredError(), "psnr": PeakSignalNoiseRatio(data_range=1.0)}) for stage in ("val", "test")})
        self.test_ssim = StructuralSimilarityIndexMeasure(data_range=1.0)
        self.code_counts = None  # codes chosen over an evaluation epoch: (K,)

    # --- the model -------------------------------------------------------------------------------
    @property
    def positions(self) -> int:
        return math.prod(self.grid_shape)

    def decode_vectors(self, z_q: torch.Tensor) -> torch.Tensor:
        """Images of code vectors (B, D, h, w): the decoder's pixel means clamped to [0, 1], (B, C, H, W)."""
        return self.decoder(z_q).clamp(0, 1)

    def encode(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        """The codes of images x (B, C, H, W): (B, h, w) integers in [0, K)."""
        x = self.checked_images(x, labels, "encode")
        return self.quantizer.codes_of(self.encoder(x))

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, labels=None) -> torch.Tensor:
        """Images (B, C, H, W) of code grids (B, h, w)."""
        check_labels(labels, 0, (1,), "decode")
        expected = f"(B, {', '.join(map(str, self.grid_shape))})"
        if not isinstance(codes, torch.Tensor) or codes.dim() != 3 or tuple(codes.shape[1:]) != self.grid_shape:
            got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
            raise InputError(f"decode: expected a grid of codes {expected}, got {got}")
        if codes.is_floating_point() or codes.dtype == torch.bool or \
                (codes.numel() and (codes.min() < 0 or codes.max() >= self.hparams.num_codes)):
            raise InputError(f"decode: codes must be integers in [0, {self.hparams.num_codes})")
        return self.decode_vectors(self.quantizer.lookup(codes.long().to(self.device)))

    @torch.no_grad()
    def sample(self, n: int, labels=None, z: torch.Tensor | None = None,
               temperature: float | None = None) -> torch.Tensor:
        """n images decoded from code grids drawn from the prior: (n, C, H, W) in [0, 1]. `z` (n, h*w): the uniforms
        in [0, 1] that drive the draw (default: fresh ones), so the same z gives the same images."""
        n = check_count(n, "n", "sample")
        check_labels(labels, 0, (n,), "sample")
        if z is None:
            z = torch.rand(n, self.positions, device=self.device)
        else:
            z = check_latents(z, self.positions, "sample", n)
            if z.numel() and (z.min() < 0 or z.max() > 1):
                raise InputError("sample: z holds the uniforms of the draw: values in [0, 1]")
        was_training = self.prior.training
        self.prior.eval()  # no dropout while sampling
        try:
            codes = self.prior.sample(z.to(self.device), temperature or self.hparams.temperature)
        finally:
            self.prior.train(was_training)
        return self.decode_vectors(self.quantizer.lookup(codes.view(n, *self.grid_shape)))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, labels=None) -> torch.Tensor:
        """The decoded codes of images x (B, C, H, W)."""
        x = self.checked_images(x, labels, "reconstruct")
        return self.decode_vectors(self.quantizer(self.encoder(x)).quantized)

    @torch.no_grad()
    def interpolate(self, x1: torch.Tensor, x2: torch.Tensor, steps: int = 10, labels=None) -> torch.Tensor:
        """Decode `steps` points on the line between the encoder outputs of two images (C, H, W), each point
        quantised: (steps, C, H, W)."""
        steps = check_count(steps, "steps", "interpolate", minimum=2)
        x1, x2 = (self.checked_images(x, labels, "interpolate", batched=False) for x in (x1, x2))
        z1, z2 = (self.encoder(x[None]) for x in (x1, x2))  # (1, D, h, w)
        t = torch.linspace(0, 1, steps, device=self.device, dtype=z1.dtype)[:, None, None, None]
        return self.decode_vectors(self.quantizer((1 - t) * z1 + t * z2).quantized)

    def checked_images(self, x, labels, where: str, batched: bool = True) -> torch.Tensor:
        check_labels(labels, 0, (1,), where)
        return check_images(x, self.hparams.image_shape, where, False, batched).to(self.device)

    # --- the two objectives ----------------------------------------------------------------------
    def autoencoder_step(self, x: torch.Tensor):
        """Loss, logs, codes (B, h, w), encoder outputs (B, D, h, w) and the decoder's pixel means (B, C, H, W) of the
        auto-encoder on images x."""
        z_e = self.encoder(x)
        quantized = self.quantizer(z_e)
        means = self.decoder(quantized.quantized)  # (B, C, H, W), unbounded
        mse = F.mse_loss(means, x)
        loss = mse + self.hparams.commitment_cost * quantized.commitment
        logs = {"loss": loss, "mse": mse, "commitment": quantized.commitment, "perplexity": quantized.perplexity}
        return loss, logs, quantized.codes, z_e, means

    def prior_step(self, codes: torch.Tensor):
        """The prior's NLL (nats per image, mean over the batch) and logs, for code grids (B, h, w)."""
        nll = -self.prior.log_prob(codes.flatten(1)).mean()
        return nll, {"prior_nll": nll, "bits_per_code": nll / (self.positions * math.log(2))}

    @property
    def prior_phase(self) -> bool:
        return self.current_epoch >= self.hparams.prior_start_epoch

    # --- Lightning hooks -------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        dims = getattr(getattr(self.trainer, "datamodule", None), "dims", None)
        if dims is not None and tuple(dims) != tuple(self.hparams.image_shape):
            raise InputError(f"the data gives images of shape {tuple(dims)} but the model was built for "
                             f"{tuple(self.hparams.image_shape)}: build the model with image_shape={tuple(dims)}")

    def on_fit_start(self) -> None:
        epochs = self.trainer.max_epochs
        if not self.trainer.fast_dev_run and epochs is not None and 0 <= epochs <= self.hparams.prior_start_epoch:
            rank_zero_warn(f"VQVAEModule: max_epochs={epochs} <= prior_start_epoch={self.hparams.prior_start_epoch}"
                           f": the prior will not be trained, and samples will be noise")

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        if batch_idx == 0:
            check_values(batch[0], "VQVAEModule: the first training batch", False)
        if self.prior_phase:  # frozen: no dropout or batch-norm statistics (Lightning sets train mode each epoch)
            self.encoder.eval(), self.decoder.eval()

    def training_step(self, batch, batch_idx):
        x = batch[0]
        autoencoder_optimizer, prior_optimizer = self.optimizers()
        if self.prior_phase:
            with torch.no_grad():
                codes = self.quantizer.codes_of(self.encoder(x))
            loss, logs = self.prior_step(codes)
            check_finite(self, logs, ("prior_nll",), inputs=x)
            optimizer = prior_optimizer
        else:
            loss, logs, codes, z_e, _ = self.autoencoder_step(x)
            check_finite(self, logs, ("mse", "commitment", "loss"), inputs=x)
            optimizer = autoencoder_optimizer
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        if not self.prior_phase:
            restarted = self.quantizer.update(z_e, codes)
            logs["restarted_codes"] = torch.tensor(float(restarted))
        self.train_logs.update(self, {k: v.detach() for k, v in logs.items()}, len(x))

    def on_train_epoch_end(self) -> None:
        self.train_logs.log_epoch(self)
        trained = self.optimizers()[1 if self.prior_phase else 0].optimizer
        schedulers = self.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []:
            if scheduler.optimizer is trained:  # manual optimisation: stepped by hand, once per epoch of its phase
                scheduler.step()

    def on_validation_epoch_start(self) -> None:
        self.code_counts = None

    def on_test_epoch_start(self) -> None:
        self.code_counts = None

    def validation_step(self, batch, batch_idx):
        self.evaluation_step(batch[0], "val")

    def test_step(self, batch, batch_idx):
        x = batch[0]
        reconstruction = self.evaluation_step(x, "test")
        self.test_ssim(reconstruction.float(), x.float())
        self.log("test/ssim", self.test_ssim, batch_size=len(x))

    def evaluation_step(self, x: torch.Tensor, stage: str) -> torch.Tensor:
        """Log the auto-encoder's and the prior's figures on a held-out batch; returns its reconstructions."""
        _, logs, codes, _, means = self.autoencoder_step(x)
        reconstruction = means.clamp(0, 1)  # what reconstruct() returns
        logs = {**{k: v for k, v in logs.items() if k not in ("mse", "perplexity")}, **self.prior_step(codes)[1]}
        n = len(x)
        self.log_dict({f"{stage}/{k}": v for k, v in logs.items()}, batch_size=n, sync_dist=True)
        metrics = self.reconstruction_metrics[stage]
        for metric in metrics.values():
            metric(reconstruction, x)
        self.log_dict({f"{stage}/{name}": metric for name, metric in metrics.items()}, batch_size=n, prog_bar=True)
        counts = torch.bincount(codes.flatten(), minlength=self.hparams.num_codes)
        self.code_counts = counts if self.code_counts is None else self.code_counts + counts
        return reconstruction

    def on_validation_epoch_end(self) -> None:
        self.log_code_usage("val")

    def on_test_epoch_end(self) -> None:
        self.log_code_usage("test")

    def log_code_usage(self, stage: str) -> None:
        """Perplexity of the codes over the whole evaluation set, and how many codes it used."""
        if self.code_counts is None:
            return
        counts = self.trainer.strategy.reduce(self.code_counts.float(), reduce_op="sum")
        self.log_dict({f"{stage}/perplexity": perplexity(counts), f"{stage}/codes_used": (counts > 0).sum().float()})

    @property
    def test_protocol(self) -> dict:
        """How `lightning test` measured this module (written into its JSON report)."""
        return {"reconstructions": "decoded codes of the test images; MSE, PSNR (data range 1), SSIM",
                "perplexity": "exp(entropy) of the codes' frequencies over the test set",
                "prior_nll": f"-log p(codes) of the test images' code grids under the prior, nats per image "
                             f"(a sum over {self.positions} positions); bits_per_code = prior_nll / "
                             f"({self.positions} ln 2)"}

    def predict_step(self, batch, batch_idx):
        return self.reconstruct(batch[0])

    def configure_optimizers(self):
        hp = self.hparams
        autoencoder = build(hp.optimizer, [*self.encoder.parameters(), *self.decoder.parameters()])
        prior = build(hp.prior_optimizer, self.prior.parameters())
        configs = [{"optimizer": autoencoder}, {"optimizer": prior}]
        for config, scheduler in zip(configs, (hp.lr_scheduler, hp.prior_lr_scheduler), strict=True):
            if scheduler is not None:
                config["lr_scheduler"] = build(scheduler, config["optimizer"])
        return configs


def check_hyperparameters(num_codes, code_dim, commitment_cost, codebook_decay, codebook_epsilon, restart_after,
                          prior_start_epoch, temperature) -> None:
    problems = [
        (num_codes < 2, f"num_codes must be >= 2, got {num_codes}"),
        (code_dim < 1, f"code_dim must be >= 1, got {code_dim}"),
        (commitment_cost < 0, f"commitment_cost must be >= 0, got {commitment_cost}"),
        (not 0 < codebook_decay < 1, f"codebook_decay must lie in (0, 1), got {codebook_decay}"),
        (codebook_epsilon <= 0, f"codebook_epsilon must be > 0, got {codebook_epsilon}"),
        (restart_after < 1, f"restart_after must be >= 1, got {restart_after}"),
        (prior_start_epoch < 0, f"prior_start_epoch must be >= 0, got {prior_start_epoch}"),
        (temperature <= 0, f"temperature must be > 0, got {temperature}"),
    ]
    refuse("VQVAEModule", problems)


@torch.no_grad()
def check_networks(encoder: nn.Module, decoder: nn.Module, image_shape, code_dim) -> tuple[int, int]:
    """Run both networks once on zeros so a shape mismatch fails at set-up; returns the code grid's (h, w)."""
    modes = encoder.training, decoder.training
    encoder.eval(), decoder.eval()
    try:
        z = encoder(torch.zeros(2, *image_shape))
        if z.dim() != 4 or z.shape[1] != code_dim:
            raise InputError(f"{type(encoder).__name__} maps images {tuple(image_shape)} to {tuple(z.shape[1:])}; "
                             f"the VQ-VAE needs a grid of vectors ({code_dim}, h, w)")
        got = tuple(decoder(z).shape[1:])
        if got != tuple(image_shape):
            raise InputError(f"{type(decoder).__name__} maps code grids {tuple(z.shape[1:])} to {got}, not to the "
                             f"images {tuple(image_shape)}")
    finally:
        encoder.train(modes[0]), decoder.train(modes[1])
    return tuple(z.shape[2:])
