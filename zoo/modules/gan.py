"""Generative adversarial network (Goodfellow et al. 2014) with Lightning's manual optimization.

The module is the training loop; what it plays is given as components. The two players alternate: the objective's
`n_critic` discriminator steps, then one generator step, each inside `toggled_optimizer` so only that player's
parameters take gradients. The objective (zoo.modules.gan_losses.GANObjective) is a loss with its penalties
(WGAN-GP, lazy R1 and R2); an auxiliary head on the discriminator (zoo.modules.auxiliary) is InfoGAN's Q with its
latent code and mutual-information term, or ACGAN's class head. An EMA copy of the generator, class conditioning,
PacGAN packing (Lin et al. 2018: the discriminator judges `pac` samples at once) and DiffAugment are options.

Lightning's `global_step` counts optimizer steps of both players, so schedules and logs use the
generator-iteration counter instead, a buffer saved with the weights.
"""

from dataclasses import asdict
from functools import partial
from typing import Callable, Literal

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from zoo.base import ZooModule
from zoo.errors import InputError, refuse
from zoo.factories import as_component, build, keep_factories_as_configs
from zoo.metrics.clustering import ClusteringAccuracy
from zoo.modules.augment import adapted_strength, diff_augment, parse_policy
from zoo.modules.auxiliary import ACGANHead, InfoGANHead
from zoo.modules.gan_losses import GANObjective, Objective
from zoo.modules.guards import check_finite
from zoo.modules.inputs import balanced_labels, check_count, check_labels, check_latents
from zoo.modules.train_logs import TrainLogs
from zoo.nets import MLPDecoder, MLPEncoder

NetFactory = Callable[[tuple, int, int], nn.Module]
HeadFactory = Callable[[int, int], InfoGANHead | ACGANHead]
FACTORIES = ("generator", "discriminator", "head", "generator_optimizer", "discriminator_optimizer", "lr_scheduler")


class GANModule(ZooModule):
    """A GAN trained by manual optimization, one discriminator step (n_critic of them) per generator step.

    Args:
        generator: G, built as generator(image_shape, latent_dim, num_classes) (InfoGAN: the head's categories in
            place of num_classes).
        discriminator: D, built as discriminator(image_shape * pac channels, 1 + head size, num_classes)
            (num_classes 0 for ACGAN, whose class head predicts the label instead).
        image_shape: (C, H, W), or (d,) for points; a recipe links it from the data module.
        latent_dim: the size of z ~ N(0, I) (with InfoGAN's continuous codes as its last entries).
        num_classes: > 0 makes it class-conditional: the label enters G and D.
        objective: the game: a GANObjective (zoo.modules.gan_losses: the loss, n_critic, WGAN-GP, R1 and R2), or the
            name of its loss alone ("non_saturating", "hinge", "wasserstein", "relativistic", ...).
        ema_decay: keep an exponential moving average of G's weights with this decay, which sample() draws from;
            None, no average.
        pac: the discriminator judges this many samples at once, stacked on the channels (PacGAN).
        head: an auxiliary head on D, built as head(num_classes, latent_dim): zoo.modules.auxiliary.InfoGANHead
            (InfoGAN's Q and latent code) or ACGANHead (ACGAN's class head); None, none.
        diffaugment: the DiffAugment policy applied to every discriminator input in training, comma-separated
            operations from "color", "translation", "cutout" (Zhao et al. 2020), each optionally with the probability
            that an image gets it, "translation@0.5" (zoo.modules.augment); "", none.
        augment_target: ADA's adaptive strength (Karras et al. 2020): the policy's probabilities are scaled by a
            strength p that starts at 0 and rises while D's mean sign on its real training images exceeds this
            target (ADA: 0.6), falls while below; None, the policy applied at full strength (DiffAugment).
        augment_images: with augment_target, how many training images it takes p to move from 0 to 1 (ADA: 500k).
        output_activation: G's last activation, "sigmoid" (images in [0, 1]) or "identity" (points).
        generator_optimizer: G's optimizer.
        discriminator_optimizer: D's optimizer.
        lr_scheduler: a learning-rate schedule, stepped once per generator iteration; None, constant rates.
    """

    @staticmethod
    def sampler_description(init_args: dict) -> str:
        """What sample(n) draws from, in words, for the card."""
        return "the EMA generator" if init_args.get("ema_decay") else "the trained generator"

    def __init__(
        self,
        generator: NetFactory = MLPDecoder,
        discriminator: NetFactory = MLPEncoder,
        image_shape: tuple[int, ...] = (1, 28, 28),
        latent_dim: int = 64,
        num_classes: int = 0,
        objective: GANObjective | Objective = "non_saturating",
        ema_decay: float | None = None,
        pac: int = 1,
        head: HeadFactory | None = None,
        diffaugment: str = "",
        augment_target: float | None = None,
        augment_images: int = 500_000,
        output_activation: Literal["sigmoid", "identity"] = "sigmoid",
        generator_optimizer: OptimizerCallable = torch.optim.Adam,
        discriminator_optimizer: OptimizerCallable = torch.optim.Adam,
        lr_scheduler: LRSchedulerCallable | None = None,
    ):
        super().__init__()
        image_shape = tuple(image_shape)
        check_hyperparameters(latent_dim, num_classes, ema_decay, pac, output_activation, head)
        self.objective = as_component(GANObjective, objective, "loss")
        objective = asdict(self.objective)  # plain data in the hyper-parameters, which save_hyperparameters reads
        parse_policy(diffaugment)  # a policy it cannot read is refused here, not at the first step
        refuse("GANModule", [
            (augment_target is not None and not diffaugment, "augment_target adapts the diffaugment policy's "
             "strength: give a policy too (e.g. diffaugment: translation,cutout)"),
            (augment_target is not None and not -1 < augment_target < 1,
             f"augment_target is a mean sign of D's logits, in (-1, 1); got {augment_target}"),
            (augment_images < 1, f"augment_images must be >= 1, got {augment_images}")])
        self.save_hyperparameters()
        keep_factories_as_configs(self.hparams, FACTORIES)
        self.auxiliary = build(head, num_classes, latent_dim) if head is not None else None
        # InfoGAN's code: z = (c, noise) with c ~ Uniform{0, ..., K - 1} and c' the last entries of z
        self.latent_categories = getattr(self.auxiliary, "categories", 0)
        self.latent_continuous = getattr(self.auxiliary, "continuous", 0)
        self.automatic_optimization = False
        packed_shape = (pac * image_shape[0], *image_shape[1:])  # pac samples side by side on dim 1
        # a categorical code enters the generator as a class label would
        self.generator = build(generator, image_shape, latent_dim, num_classes or self.latent_categories)
        aux_size = self.auxiliary.size if self.auxiliary is not None else 0
        # ACGAN's discriminator predicts the class instead of being given it
        self.labels_to_discriminator = self.auxiliary is None or self.auxiliary.discriminator_sees_labels
        self.discriminator = build(discriminator, packed_shape, 1 + aux_size,
                                   num_classes if self.labels_to_discriminator else 0)
        # InfoGAN's score at test time: Q's category of each test image against its label
        self.cluster_accuracy = ClusteringAccuracy() if self.latent_categories else None
        self.generator_ema = None
        if ema_decay is not None:
            # weights only: its batch-norm statistics are computed for its own weights when it samples
            self.generator_ema = AveragedModel(self.generator, multi_avg_fn=partial(ema_update, ema_decay))
            self.generator_ema.requires_grad_(False)
            # the EMA's n_averaged that its batch-norm statistics were computed for: stored with the weights, so
            # that loading them does not recompute thousands of samples' statistics
            self.register_buffer("ema_statistics_of", torch.tensor(-1))
        self.train_logs = TrainLogs()
        self.register_buffer("generator_iterations", torch.tensor(0))
        self.register_buffer("discriminator_steps", torch.tensor(0))
        if augment_target is not None:  # ADA's p, saved with the weights so that a resumed run goes on from it
            self.register_buffer("augment_strength", torch.tensor(0.0))
        fixed = self.draw_latents(64, torch.Generator().manual_seed(0))
        self.register_buffer("fixed_noise", fixed)  # the same z for every sample grid

    # --- the players -----------------------------------------------------------------------------
    def draw_latents(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z (n, latent_dim) ~ N(0, I), its last `latent_continuous` entries ~ Uniform[-1, 1] instead."""
        device = self.device if generator is None else generator.device
        z = torch.randn(n, self.hparams.latent_dim, device=device, generator=generator)
        if continuous := self.latent_continuous:
            z[:, -continuous:] = 2 * torch.rand(n, continuous, device=device, generator=generator) - 1
        return z.to(self.dtype)

    def draw_categories(self, n: int) -> torch.Tensor | None:
        """The categorical code c ~ Uniform{0, ..., K - 1} (n,) of a model with `latent_categories`, else None."""
        categories = self.latent_categories
        return torch.randint(categories, (n,), device=self.device) if categories else None

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None, ema: bool = False) -> torch.Tensor:
        """G(z, labels); with InfoGAN's categories, labels are the categorical code c, drawn when not given."""
        net = self.generator_ema.module if ema and self.generator_ema is not None else self.generator
        if self.latent_categories and labels is None:  # z = (c, noise), c ~ Uniform{0, ..., K - 1}
            labels = torch.randint(self.latent_categories, (len(z),), device=z.device)
        out = net(z, labels)
        return torch.sigmoid(out) if self.hparams.output_activation == "sigmoid" else out

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B / pac,) of the discriminator on x (B, C, ...), `pac` consecutive samples at a time; in training,
        x DiffAugmented first when the module has a policy."""
        return self.discriminate_with_aux(x, labels)[0]

    def discriminate_with_aux(self, x: torch.Tensor, labels: torch.Tensor | None = None) \
            -> tuple[torch.Tensor, torch.Tensor | None]:
        """The logits (B / pac,) as `discriminate` gives them, and the auxiliary head's outputs (B, head size) on the
        same pass, None without a head."""
        pac = self.hparams.pac
        if self.training and self.hparams.diffaugment:
            strength = float(self.augment_strength) if self.hparams.augment_target is not None else 1.0
            x = diff_augment(x, self.hparams.diffaugment, strength)
        if pac > 1:
            if len(x) % pac:
                raise InputError(f"PacGAN: the batch size ({len(x)}) must be a multiple of pac={pac}")
            x = x.reshape(len(x) // pac, pac * x.shape[1], *x.shape[2:])  # (B / pac, pac * C, ...)
        if self.auxiliary is None:
            return self.discriminator(x, labels).squeeze(-1), None
        out = self.discriminator(x, labels if self.labels_to_discriminator else None)  # (B, 1 + head size)
        return out[:, 0], out[:, 1:]

    @torch.no_grad()
    def predict_code(self, x: torch.Tensor) -> torch.Tensor:
        """The auxiliary head's category (B,) for images x: InfoGAN's code c (Q's argmax), ACGAN's class."""
        if self.auxiliary is None or (isinstance(self.auxiliary, InfoGANHead) and not self.auxiliary.categories):
            raise InputError("predict_code: this GAN has no auxiliary head with categories (InfoGAN, ACGAN)")
        aux = self.discriminate_with_aux(x)[1]
        return aux[:, : self.auxiliary.categories if isinstance(self.auxiliary, InfoGANHead) else None].argmax(1)

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor | int | None = None, z: torch.Tensor | None = None,
               ema: bool = True, code: torch.Tensor | int | None = None,
               continuous: torch.Tensor | None = None) -> torch.Tensor:
        """n samples of G(z), z ~ N(0, I) (or the given z, n rows), from the EMA generator when there is one and
        `ema`, else from the trained generator. `labels`: (n,) or one int, for a class-conditional GAN; given
        none, it draws balanced ones. With InfoGAN's categories: `code`, the categorical code (n,) or one
        int, drawn at random when not given; with its continuous codes: `continuous`, the continuous codes (k,) or
        (n, k) in [-1, 1], which replace the last k entries of z."""
        hp = self.hparams
        n = check_count(n, "n", "sample")
        if z is None:
            z = self.draw_latents(n)
        else:
            z = check_latents(z, hp.latent_dim, "sample", n).to(self.device, self.dtype)
        if labels is None and hp.num_classes:
            labels = balanced_labels(n, hp.num_classes, self.device)
        labels = check_labels(labels, hp.num_classes, (n,), "sample", self.device)
        labels = labels.expand(n) if labels is not None else None
        if code is not None:
            if not self.latent_categories:
                raise InputError("sample: `code` is the categorical latent code; this GAN has none "
                                 "(no InfoGAN head with categories)")
            labels = check_labels(code, self.latent_categories, (n,), "sample (code)", self.device).expand(n)
        if continuous is not None:
            z = with_continuous_codes(z, continuous, self.latent_continuous)
        ema = ema and self.generator_ema is not None
        if ema:
            if self.ema_statistics_stale():
                if self._trainer is not None and self._trainer.fast_dev_run:  # one pass through the code
                    self.recompute_ema_statistics(batches=1, batch_size=64)
                else:
                    self.recompute_ema_statistics()
            self.generator_ema.eval()  # never trained: always its running statistics, even mid-training
        return self.generate(z, labels, ema=ema)

    def recompute_ema_statistics(self, batches: int = 16, batch_size: int = 512) -> None:
        """The EMA generator's batch-norm statistics for its own averaged weights ("standing statistics", Brock et
        al. 2019): the trained generator's statistics do not fit them (DCGAN on MNIST: FID 319 with those, 101 with
        its own; the trained generator alone, 94). They need thousands of samples: from 512, r3gan.mnist's FID was
        8.2, from 8,192 4.2 (benchmarks/results/ema_standing_statistics.json). The noise (and labels) have a seed
        of their own, so sampling draws nothing from the global random generator."""
        generator = torch.Generator(device=self.device).manual_seed(0)
        categories = self.hparams.num_classes or self.latent_categories

        def batch() -> list[tuple]:
            z = self.draw_latents(batch_size, generator)
            labels = torch.randint(categories, (batch_size,), device=self.device, generator=generator) \
                if categories else None
            return [(z, labels)]  # update_bn calls the model on each batch's first element

        update_bn((batch() for _ in range(batches)), TakesInputTuple(self.generator_ema.module))
        self.ema_statistics_of.copy_(self.generator_ema.n_averaged)

    def before_export(self) -> None:
        if self.generator_ema is not None and self.ema_statistics_stale():
            self.recompute_ema_statistics()

    def ema_statistics_stale(self) -> bool:
        return int(self.ema_statistics_of) != int(self.generator_ema.n_averaged)

    def load_state_dict(self, state_dict, *args, **kwargs):
        if self.generator_ema is not None and "ema_statistics_of" not in state_dict:
            state_dict = {**state_dict, "ema_statistics_of": torch.tensor(-1)}  # written before it was stored
        return super().load_state_dict(state_dict, *args, **kwargs)

    # --- one round of the game -------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        real, labels = self.unpack(batch)
        d_optimizer, g_optimizer = self.optimizers()
        logs = {}
        with self.toggled_optimizer(d_optimizer):
            z = self.draw_latents(len(real))
            codes = labels if labels is not None else self.draw_categories(len(real))  # what G is asked for
            fake = self.generate(z, codes).detach()
            (real_logits, real_aux), (fake_logits, fake_aux) = (self.discriminate_with_aux(real, labels),
                                                                self.discriminate_with_aux(fake, labels))
            d_loss = self.objective.discriminator_loss(real_logits, fake_logits)
            logs["d_loss"] = d_loss.detach()
            if self.auxiliary is not None:  # InfoGAN's lambda * L_I, ACGAN's class cross-entropies
                aux_loss, aux_logs = self.auxiliary.discriminator_loss(real_aux, fake_aux, labels, codes, z)
                d_loss = d_loss + aux_loss
                logs.update(aux_logs)
            penalties = self.objective.penalties(self.discriminate, real, fake, labels, int(self.discriminator_steps))
            for name, (weight, penalty) in penalties.items():
                d_loss = d_loss + weight * penalty
                logs[name] = penalty.detach()
            check_finite(self, {**logs, "d_loss_with_penalties": d_loss},
                         ("d_loss", "gradient_penalty", "r1_penalty", "r2_penalty", "d_loss_with_penalties"),
                         inputs=real)
            d_optimizer.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            d_optimizer.step()
        self.discriminator_steps += 1
        if self.hparams.augment_target is not None:
            all_real_logits = self.all_gather(real_logits.detach()).reshape(-1)  # every device's reals
            self.augment_strength.fill_(adapted_strength(float(self.augment_strength), all_real_logits,
                                                         self.hparams.augment_target, self.hparams.augment_images))
            logs["augment_strength"] = self.augment_strength.clone()
        logs["d_real"] = torch.sigmoid(real_logits.detach()).mean()
        logs["d_fake"] = torch.sigmoid(fake_logits.detach()).mean()
        if int(self.discriminator_steps) % self.objective.n_critic == 0:
            logs["g_loss"] = self.generator_step(g_optimizer, real, labels)
        logs["generator_iterations"] = self.generator_iterations.float()
        self.train_logs.update(self, logs, len(real))

    def on_train_epoch_end(self) -> None:
        self.train_logs.log_epoch(self)

    def generator_step(self, g_optimizer, real: torch.Tensor, labels) -> torch.Tensor:
        """One generator step against the real batch's size (and, for a PAIRED objective, its logits);
        returns its loss (with the auxiliary head's term, when there is one)."""
        with self.toggled_optimizer(g_optimizer):
            z = self.draw_latents(len(real))
            codes = labels if labels is not None else self.draw_categories(len(real))
            fake_logits, fake_aux = self.discriminate_with_aux(self.generate(z, codes), labels)
            real_logits = self.discriminate(real, labels) if self.objective.paired else None
            g_loss = self.objective.generator_loss(fake_logits, real_logits)
            if self.auxiliary is not None:
                g_loss = g_loss + self.auxiliary.generator_loss(fake_aux, codes, z)
            check_finite(self, {"g_loss": g_loss}, ("g_loss",))
            g_optimizer.zero_grad(set_to_none=True)
            self.manual_backward(g_loss)
            g_optimizer.step()
        self.generator_iterations += 1
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)
        schedulers = self.lr_schedulers()
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else []:
            scheduler.step()  # manual optimization: stepped by hand, once per generator iteration
        return g_loss.detach()

    def validation_step(self, batch, batch_idx):
        self.log("val/d_loss", self.held_out_d_loss(batch), batch_size=len(batch[0]), sync_dist=True)

    def test_step(self, batch, batch_idx):
        self.log("test/d_loss", self.held_out_d_loss(batch), batch_size=len(batch[0]), sync_dist=True)
        if self.cluster_accuracy is not None:  # InfoGAN: Q's category of each test image, matched to the labels
            self.cluster_accuracy.update(self.predict_code(batch[0]), batch[1])
            self.log("test/cluster_accuracy", self.cluster_accuracy, batch_size=len(batch[0]))

    @property
    def test_protocol(self) -> dict | None:
        """What `lightning test`'s report says about the module's own test metrics."""
        if self.cluster_accuracy is None:
            return None
        return {"cluster_accuracy": "InfoGAN's Q argmax category of every test image, clusters matched one-to-one to "
                                    "the labels by the Hungarian algorithm (scipy linear_sum_assignment)"}

    def held_out_d_loss(self, batch) -> torch.Tensor:
        real, labels = self.unpack(batch)
        z = self.draw_latents(len(real))
        real_logits = self.discriminate(real, labels)
        fake_logits = self.discriminate(self.generate(z, labels), labels)
        return self.objective.discriminator_loss(real_logits, fake_logits)

    def unpack(self, batch):
        x, labels = batch
        return x, (labels if self.hparams.num_classes > 0 else None)

    def configure_optimizers(self):
        hp = self.hparams
        d_optimizer = build(hp.discriminator_optimizer, self.discriminator.parameters())
        g_optimizer = build(hp.generator_optimizer, self.generator.parameters())
        if hp.lr_scheduler is None:
            return [d_optimizer, g_optimizer]
        schedulers = [build(hp.lr_scheduler, opt) for opt in (d_optimizer, g_optimizer)]
        return [d_optimizer, g_optimizer], schedulers


def with_continuous_codes(z: torch.Tensor, continuous, count: int) -> torch.Tensor:
    """z (n, latent_dim) with its last `count` entries set to the continuous codes (count,) or (n, count)."""
    if not count:
        raise InputError("sample: `continuous` sets InfoGAN's continuous codes; this GAN has none "
                         "(no InfoGAN head with continuous codes)")
    continuous = torch.as_tensor(continuous, dtype=z.dtype, device=z.device)
    if continuous.shape not in ((count,), (len(z), count)):
        raise InputError(f"sample: continuous codes must have shape ({count},) or ({len(z)}, {count}), "
                         f"got {tuple(continuous.shape)}")
    z = z.clone()
    z[:, -count:] = continuous
    return z


def ema_decay_at(decay: float, t: int) -> float:
    """The EMA's decay at generator iteration t = 0, 1, ...: min(decay, (1 + t) / (10 + t)), a warm-up (as
    TensorFlow's ExponentialMovingAverage with num_updates) so that the first iterates' weights fade out within a
    few hundred iterations instead of keeping a (decay ** t) share."""
    return min(decay, (1 + t) / (10 + t))


@torch.no_grad()
def ema_update(decay: float, ema_params: list, current_params: list, num_averaged: torch.Tensor) -> None:
    """AveragedModel's multi_avg_fn for an EMA of the (floating-point) parameters with a warm-up, picklable (DDP's
    spawn start method pickles the module). AveragedModel copies the weights of generator iteration 0 and passes
    the number of iterates averaged so far, t, with the weights of iteration t."""
    torch._foreach_lerp_(ema_params, current_params, 1 - ema_decay_at(decay, int(num_averaged)))


class TakesInputTuple(nn.Module):
    """`net(*inputs)` as a module of one argument, the form in which torch's `update_bn` calls a model."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, inputs: tuple) -> torch.Tensor:
        return self.net(*inputs)


def check_hyperparameters(latent_dim, num_classes, ema_decay, pac, output_activation, head) -> None:
    problems = [
        (latent_dim < 1, f"latent_dim must be >= 1, got {latent_dim}"),
        (num_classes < 0, f"num_classes must be >= 0, got {num_classes}"),
        (ema_decay is not None and not 0 < ema_decay < 1, f"ema_decay must lie in (0, 1), got {ema_decay}"),
        (pac < 1, f"pac must be >= 1, got {pac}"),
        (pac > 1 and num_classes > 0, "PacGAN packing (pac > 1) is for unconditional GANs"),
        (pac > 1 and head is not None, "an auxiliary head (InfoGAN, ACGAN) judges one image at a time: use pac = 1"),
        (output_activation not in ("sigmoid", "identity"), f"unknown output_activation {output_activation!r}"),
    ]
    refuse("GANModule", problems)
