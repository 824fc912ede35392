"""Variational auto-encoder (Kingma & Welling 2014) trained on the ELBO, or on the IWAE bound (Burda et al. 2016).

ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)), in nats per image, with
q(z|x) = N(mu(x), diag sigma(x)^2) sampled as z = mu + eps * sigma, eps ~ N(0, I), and p(z) = N(0, s^2 I).
The KL is in closed form (torch.distributions). The module is the training loop; what it trains is given as
components: the prior (zoo.modules.vae_prior.VAEPrior) and the objective (zoo.modules.vae_objective.VAEObjective: a
weight beta on the KL (Higgins et al. 2017), linear KL warm-up, free bits (Kingma et al. 2016), the k-sample IWAE
bound, MMD and TC regularisers). Class conditioning is an option, and:
- `prior: vamp`: the VampPrior (Tomczak & Welling 2018), p(z) = (1/K) sum_k q(z|u_k) at K learned
  pseudo-inputs u_k (images in [0, 1], a hardtanh of free parameters, as the paper);
- the prior's `top_latent_dim > 0`: a second stochastic layer z = (z1, z2), with p(z2) p(z1|z2), p(z1|z2) a diagonal
  Gaussian from an MLP of `top_hidden` units. `hierarchy="bottom_up"` is Burda et al.'s stacked form,
  q(z1|x) q(z2|z1) and p(x|z1), so the decoder never sees z2; with the VampPrior on top,
  p(z2) = (1/K) sum_k q(z2 | z1 = E[z1|u_k]). `hierarchy="top_down"` is Tomczak & Welling's HVAE: q(z2|x) (the
  encoder), q(z1|x, z2) (zoo.nets.mlp.JointEncoder) and p(x|z1, z2) (the decoder takes both), so the top layer
  reaches the image directly; its VampPrior is p(z2) = (1/K) sum_k q(z2|u_k).
With either, the KL has no closed form: the ELBO uses the Monte Carlo estimate log q(z|x) - log p(z) at
the sampled z (as the VampPrior paper), and the IWAE bound and IS-NLL use the full log p(z).
The objective's `tc_weights = (alpha, beta, gamma)` make it beta-TCVAE (Chen et al. 2018): the KL split into
index-code mutual information, total correlation and dimension-wise KL (zoo.distributions.kl_decomposition,
minibatch-weighted sampling over a training set of `dataset_size` images, read from the data module at fit when 0),
weighted by alpha, beta, gamma.
After training, `fit_sampler(data, kind)` fits an ex-post sampler of the decoder's latent (zoo.distributions.samplers:
"gmm", "two_stage") that `sample(n, sampler=kind)` draws from; it is saved with the weights.
"""

import math
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Literal

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch.distributions import Distribution, Independent
from torch.nn import functional as F
from torchmetrics import MeanSquaredError
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from zoo.base import ZooModule
from zoo.distributions import (
    BernoulliLikelihood,
    DiagonalGaussianMixture,
    TwoLayerLatent,
    diagonal_gaussian,
    gaussian_kl,
    gaussian_prior,
)
from zoo.distributions.kl_decomposition import kl_decomposition
from zoo.distributions.mmd import mmd_squared
from zoo.distributions.samplers import build_sampler
from zoo.errors import InputError, refuse
from zoo.factories import as_component, build, keep_factories_as_configs
from zoo.metrics.likelihood import NLLEstimate, bits_per_dim, importance_sampled_log_likelihood
from zoo.modules.compile import CompiledOrEager
from zoo.modules.guards import check_finite
from zoo.modules.inputs import balanced_labels, check_count, check_images, check_labels, check_latents, check_values
from zoo.modules.train_logs import TrainLogs
from zoo.modules.vae_objective import VAEObjective
from zoo.modules.vae_prior import VAEPrior
from zoo.nets import MLPDecoder, MLPEncoder
from zoo.nets.mlp import JointEncoder, mlp

# Networks are given as classes (or partials) and built here for the data's shape:
# encoder(image_shape, out_features, num_classes) and decoder(image_shape, latent_dim, num_classes).
NetFactory = Callable[[tuple, int, int], nn.Module]
LikelihoodFactory = Callable[[tuple], nn.Module]
FACTORIES = ("encoder", "decoder", "likelihood", "optimizer", "lr_scheduler")
ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. 2016: a unit is active if Cov_x(E_q[z_j]) > 0.01


class VAEModule(ZooModule):
    """A VAE, trained on the ELBO or the IWAE bound (the module docstring gives the maths).

    Args:
        encoder: the network of q(z|x)'s mean and log-variance, built as encoder(image_shape, 2 * latent_dim,
            num_classes) (of q(z2|x), 2 * the prior's top_latent_dim, in the top-down hierarchy).
        decoder: the network of p(x|z)'s parameters, built as decoder(image_shape, latent_dim, num_classes) (its
            input z1 and z2 together in the top-down hierarchy).
        likelihood: p(x|z) from the decoder's output (zoo.distributions: Bernoulli, Gaussian with a fixed, learned
            or optimal sigma).
        image_shape: (C, H, W); a recipe links it from the data module.
        latent_dim: the size of z (of z1 with a second stochastic layer).
        num_classes: > 0 makes it conditional: the label enters encoder and decoder (Sohn et al. 2015).
        prior: p(z): a VAEPrior (zoo.modules.vae_prior: N(0, s^2 I) or the VampPrior, one stochastic layer or two),
            or its kind alone, "gaussian" or "vamp".
        objective: what it is trained on: a VAEObjective (zoo.modules.vae_objective: the ELBO with beta, warm-up and
            free bits, or the IWAE bound; MMD and TC regularisers), or the bound alone, "elbo" or "iwae".
        test_nll: how `lightning test` estimates -log p(x) (test/nll): an NLLEstimate (zoo.metrics.likelihood: k
            samples, compiled or not).
        compile: torch.compile the training loss (zoo.modules.compile), the recipes' fast path.
        ex_post_samplers: fitted ex-post samplers of z, kind -> options; written by fit_sampler.
        sampler: what sample() draws z from by default: "prior", or the kind of a fitted ex-post sampler.
        optimizer: the optimizer, given the module's parameters.
        lr_scheduler: a learning-rate schedule on it, stepped each epoch; None, a constant rate.
    """

    @staticmethod
    def sampler_description(init_args: dict) -> str:
        """What sample(n) draws from, in words, for the card: the prior, or the ex-post sampler made the default."""
        sampler = init_args.get("sampler", "prior")
        if sampler == "prior":
            prior = as_component(VAEPrior, init_args.get("prior", "gaussian"), "kind")
            return "the VampPrior" if prior.kind == "vamp" else f"the prior N(0, {prior.scale}^2 I)"
        options = (init_args.get("ex_post_samplers") or {}).get(sampler, {})
        fitted = (f"a {options['num_components']}-component Gaussian mixture" if "num_components" in options
                  else f"the ex-post sampler {sampler!r}")
        return f"{fitted} fitted to the aggregate posterior (sample(n, sampler=\"prior\"): N(0, I))"

    def __init__(
        self,
        encoder: NetFactory = MLPEncoder,
        decoder: NetFactory = MLPDecoder,
        likelihood: LikelihoodFactory = BernoulliLikelihood,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 32,
        num_classes: int = 0,
        prior: VAEPrior | Literal["gaussian", "vamp"] = "gaussian",
        objective: VAEObjective | Literal["elbo", "iwae"] = "elbo",
        test_nll: NLLEstimate = NLLEstimate(),  # noqa: B008 (frozen)
        compile: bool = False,
        ex_post_samplers: dict[str, dict] | None = None,
        sampler: str = "prior",
        optimizer: OptimizerCallable = torch.optim.Adam,
        lr_scheduler: LRSchedulerCallable | None = None,
    ):
        super().__init__()
        image_shape = tuple(image_shape)
        self.prior_options = as_component(VAEPrior, prior, "kind")
        self.objective = as_component(VAEObjective, objective, "bound")
        self.test_nll = as_component(NLLEstimate, test_nll, "num_samples")
        check_hyperparameters(latent_dim, num_classes, self.prior_options)
        self.objective.check_prior(self.prior_options)
        # the components as plain data, which save_hyperparameters reads from these names
        prior, objective, test_nll = (asdict(self.prior_options), asdict(self.objective), asdict(self.test_nll))
        self.save_hyperparameters()
        keep_factories_as_configs(self.hparams, FACTORIES)
        top_latent_dim, top_hidden, top_activation = (self.prior_options.top_latent_dim, self.prior_options.top_hidden,
                                                      self.prior_options.top_activation)
        top_down = self.prior_options.top_down
        encoded = 2 * (top_latent_dim if top_down else latent_dim)  # q(z2|x) top-down, else q(z1|x)
        decoded_from = latent_dim + (top_latent_dim if top_down else 0)  # p(x|z1, z2) top-down, else p(x|z1)
        self.encoder = build(encoder, image_shape, encoded, num_classes)
        self.decoder = build(decoder, image_shape, decoded_from, num_classes)
        self.likelihood = build(likelihood, image_shape)
        if top_down:  # q(z1|x, z2)
            self.top_encoder = JointEncoder(image_shape, top_latent_dim, 2 * latent_dim, top_hidden[-1], top_activation)
        elif top_latent_dim:  # q(z2|z1)
            self.top_encoder = mlp([latent_dim, *top_hidden, 2 * top_latent_dim], top_activation)
        if top_latent_dim:
            self.top_decoder = mlp([top_latent_dim, *top_hidden, 2 * latent_dim], top_activation)  # p(z1|z2)
        if self.prior_options.kind == "vamp":  # hardtanh(w), w ~ N(0.05, 0.01) as Tomczak & Welling's code: dark images
            pseudo_inputs = self.prior_options.num_pseudo_inputs
            self.pseudo_input_params = nn.Parameter(0.05 + 0.01 * torch.randn(pseudo_inputs, *image_shape))
        self.samplers = nn.ModuleDict({kind: build_sampler(kind, latent_dim, **options)
                                       for kind, options in (ex_post_samplers or {}).items()})
        fixed = torch.randn(64, latent_dim, generator=torch.Generator().manual_seed(0)) * self.prior_options.scale
        self.register_buffer("fixed_noise", fixed)  # the same z for every sample grid
        check_networks(self.encoder, self.decoder, image_shape, encoded, decoded_from, num_classes)
        self.train_logs = TrainLogs()
        self.test_mse = MeanSquaredError()
        self.test_psnr = PeakSignalNoiseRatio(data_range=1.0)
        self.test_ssim = StructuralSimilarityIndexMeasure(data_range=1.0)
        self.training_loss = None  # self.step, compiled on the first training step when `compile` is set

    # --- the model -------------------------------------------------------------------------------
    @property
    def prior(self) -> Distribution:
        """p(z), event shape (L,); with two stochastic layers p(z2) p(z1|z2) over z = (z1, z2)."""
        if not self.prior_options.top_latent_dim:
            return self.top_prior()
        return TwoLayerLatent(self.top_prior(), lambda z2: diagonal_gaussian(self.top_decoder(z2)), root_is_z1=False,
                              z1_dim=self.hparams.latent_dim, z2_dim=self.prior_options.top_latent_dim)

    def top_prior(self) -> Distribution:
        """p of the top stochastic layer: N(0, s^2 I), or the VampPrior (1/K) sum_k q(z_top | u_k)."""
        options = self.prior_options
        if options.kind == "vamp":
            return DiagonalGaussianMixture(self.top_posterior(self.pseudo_inputs))
        return gaussian_prior(options.top_latent_dim or self.hparams.latent_dim, options.scale, self.device, self.dtype)

    @property
    def pseudo_inputs(self) -> torch.Tensor:
        """The VampPrior's K pseudo-inputs u_k = hardtanh(w_k), in [0, 1]: (K, C, H, W)."""
        return F.hardtanh(self.pseudo_input_params, 0.0, 1.0)

    @property
    def top_down(self) -> bool:
        """Tomczak & Welling's two-layer form: q(z2|x) q(z1|x, z2) and p(x|z1, z2)."""
        return self.prior_options.top_down

    @property
    def kl_is_closed_form(self) -> bool:
        return self.prior_options.factorises

    def encode(self, x: torch.Tensor, labels: torch.Tensor | int | None = None) -> Distribution:
        """q(z|x) for images x (B, C, H, W), batch shape (B,) and event shape (L,): an Independent Normal, or with
        two stochastic layers q(z1|x) q(z2|z1) over z = (z1, z2)."""
        x, labels = self.checked_images(x, labels, "encode")
        return self._encode(x, labels)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | int | None = None) -> Distribution:
        """p(x|z) for z of shape (..., L): batch shape (...), event shape (C, H, W). With two stochastic
        layers z = (z1, z2) and p(x|z) = p(x|z1)."""
        z = check_latents(z, self.accepted_latent_size(z), "decode")
        return self._decode(z, check_labels(labels, self.hparams.num_classes, z.shape[:-1], "decode", self.device))

    @property
    def latent_size(self) -> int:
        """Columns of z: latent_dim, plus top_latent_dim with two stochastic layers."""
        return self.hparams.latent_dim + self.prior_options.top_latent_dim

    def accepted_latent_size(self, z) -> int:
        """z may be (z1, z2) or, bottom-up, where p(x|z) = p(x|z1), z1 alone (latent_dim columns)."""
        given = z.shape[-1] if isinstance(z, torch.Tensor) and z.dim() else None
        return given if given == self.hparams.latent_dim and not self.top_down else self.latent_size

    def _encode(self, x: torch.Tensor, labels: torch.Tensor | None) -> Distribution:
        """encode, unchecked: for the training step."""
        q = diagonal_gaussian(self.encoder(x, labels))  # q(z2|x) top-down, else q(z1|x)
        z1_dim, z2_dim = self.hparams.latent_dim, self.prior_options.top_latent_dim
        if not z2_dim:
            return q
        if self.top_down:
            return TwoLayerLatent(q, lambda z2: diagonal_gaussian(self.top_encoder(x, z2)), root_is_z1=False,
                                  z1_dim=z1_dim, z2_dim=z2_dim)
        return TwoLayerLatent(q, lambda z1: diagonal_gaussian(self.top_encoder(z1)), root_is_z1=True,
                              z1_dim=z1_dim, z2_dim=z2_dim)

    def top_posterior(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> Independent:
        """q of the top stochastic layer: q(z|x); with two layers q(z2|x) top-down, q(z2|z1) at z1 = E[z1|x]
        bottom-up."""
        q = diagonal_gaussian(self.encoder(x, labels))
        return diagonal_gaussian(self.top_encoder(q.mean)) if self.prior_options.top_latent_dim and not self.top_down \
            else q

    def _decode(self, z: torch.Tensor, labels: torch.Tensor | None) -> Distribution:
        """decode, unchecked: for the training step."""
        if not self.top_down:
            z = z[..., : self.hparams.latent_dim]  # p(x|z1)
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
    def sample(self, n: int, labels: torch.Tensor | int | None = None, z: torch.Tensor | None = None,
               sampler: str | None = None) -> torch.Tensor:
        """Mean images of p(x|z), z ~ p(z) (or the given z, n rows, or z from the ex-post `sampler`, default the
        `sampler` hyper-parameter: the one the entry's card reports): (n, C, H, W) in [0, 1] (`raw=True`: the
        unclamped means). `labels`: (n,) or one int; a conditional model given none draws balanced ones."""
        n = check_count(n, "n", "sample")
        sampler = sampler or self.hparams.sampler
        if z is not None:
            z = check_latents(z, self.accepted_latent_size(z), "sample", n)
        elif sampler == "prior":
            z = self.prior.sample((n,))
        else:
            if sampler not in self.samplers:
                raise InputError(f"no {sampler!r} sampler has been fitted: call fit_sampler(data, {sampler!r}) "
                                 f"first (fitted: {sorted(self.samplers) or 'none'})")
            z = self.samplers[sampler].sample(n)
        if labels is None and self.hparams.num_classes:
            labels = balanced_labels(n, self.hparams.num_classes, self.device)
        labels = check_labels(labels, self.hparams.num_classes, (n,), "sample", self.device)
        return self._decode(z.to(self.device), labels).mean

    def fit_sampler(self, data, kind: str = "gmm", **options) -> nn.Module:
        """Fit the ex-post sampler `kind` (zoo.distributions.samplers) to the posteriors q(z1|x) of `data`'s training
        images (a DataModule, or a loader of (x, labels) batches); it is kept in `self.samplers` and the weights."""
        if self.hparams.num_classes:
            raise ValueError("ex-post samplers are for unconditional VAEs; sample a conditional one with labels")
        if self.prior_options.top_latent_dim:
            raise InputError("ex-post samplers fit one stochastic layer's aggregate posterior; this VAE has two")
        means, stds = self.aggregate_posterior(data)
        fitted = build_sampler(kind, self.hparams.latent_dim, **options).to(self.device)
        fitted.fit(means, stds)
        self.samplers[kind] = fitted
        self.hparams.ex_post_samplers = {**(self.hparams.ex_post_samplers or {}), kind: options}
        return fitted

    def adopt_samplers(self, ex_post_samplers: dict[str, dict], default: str | None = None) -> None:
        """Build, unfitted, the ex-post samplers (kind -> options) that weights about to be loaded carry, so that
        a recipe's module takes an entry's weights with its fitted samplers (`lightning test --weights`), and
        make `default` (the entry's own default sampler, when given) the one sample() draws from."""
        for kind, options in ex_post_samplers.items():
            if kind not in self.samplers:
                self.samplers[kind] = build_sampler(kind, self.hparams.latent_dim, **options).to(self.device)
        self.hparams.ex_post_samplers = {**(self.hparams.ex_post_samplers or {}), **ex_post_samplers}
        if default is not None:
            self.hparams.sampler = default

    @torch.no_grad()
    def aggregate_posterior(self, data) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and standard deviations of q(z1|x) over `data`'s training images: (N, L) each. A DataModule's
        images are prepared as for training (scaled, and binarised when it binarises dynamically)."""
        loader = data
        if hasattr(data, "train_dataloader"):
            data.setup("fit")
            loader = data.train_dataloader()
        was_training, means, stds = self.training, [], []
        self.eval()
        for batch in loader:
            if hasattr(data, "on_after_batch_transfer"):
                batch = data.on_after_batch_transfer(batch, 0)
                if getattr(data, "binarize", None) == "dynamic":
                    batch = (torch.bernoulli(batch[0]), batch[1])
            q = diagonal_gaussian(self.encoder(batch[0].to(self.device), None))  # q(z1|x)
            means.append(q.mean)
            stds.append(q.stddev)
        self.train(was_training)
        return torch.cat(means), torch.cat(stds)

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
    def warmed_up(self, weight: float, warmup_steps: int) -> float:
        """`weight` at this step of a linear warm-up from 0 over `warmup_steps` (0: no warm-up)."""
        return weight * (min(1.0, (self.global_step + 1) / warmup_steps) if warmup_steps > 0 else 1.0)

    def beta_now(self) -> float:
        return self.warmed_up(self.objective.beta, self.objective.kl_warmup_steps)

    def mmd_weight_now(self) -> float:
        return self.warmed_up(self.objective.mmd_weight, self.objective.mmd_warmup_steps)

    def step(self, batch, beta: float | torch.Tensor | None = None, mmd_weight: float | torch.Tensor | None = None
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
        """Loss and logs for one batch; also the posterior means (B, L) and the per-dimension KL (B, L),
        None where the KL is a Monte Carlo estimate. `beta` and `mmd_weight` (default: `beta_now()`,
        `mmd_weight_now()`) come in as tensors on the compiled path, so a warm-up does not make torch.compile
        specialise on every new value."""
        x, labels = self.unpack(batch)
        objective = self.objective
        posterior, prior = self._encode(x, labels), self.prior
        z = posterior.mean[None] if objective.deterministic_encoder else posterior.rsample((objective.num_samples,))
        log_px = self._decode(z, labels).log_prob(x)  # (k, B)
        if self.kl_is_closed_form:
            kl_per_dim = gaussian_kl(posterior.base_dist, prior.base_dist)  # (B, L)
            kl = kl_per_dim.sum(-1)
            log_prior_ratio = None
        else:
            kl_per_dim = None
            log_prior_ratio = prior.log_prob(z) - posterior.log_prob(z)  # (k, B)
            kl = -log_prior_ratio.mean(0)  # Monte Carlo, over the k samples
        reconstruction = log_px.mean(0)
        elbo = reconstruction - kl
        beta = torch.as_tensor(self.beta_now() if beta is None else beta)
        logs = {"elbo": elbo.mean(), "reconstruction": reconstruction.mean(), "kl": kl.mean(), "beta": beta}
        if objective.bound == "iwae":
            if log_prior_ratio is None:
                log_prior_ratio = prior.log_prob(z) - posterior.log_prob(z)
            log_w = log_px + log_prior_ratio
            bound = torch.logsumexp(log_w, 0) - math.log(objective.num_samples)
            logs["iwae_bound"] = bound.mean()
            loss = -logs["iwae_bound"]
        else:
            free_bits = objective.free_bits
            kl_term = kl_per_dim.mean(0).clamp(min=free_bits).sum() if free_bits > 0 else logs["kl"]
            if objective.tc_weights:  # beta-TCVAE: the KL's three terms, each weighted
                terms = kl_decomposition(z, posterior, prior, objective.dataset_size)
                logs.update(terms._asdict())
                kl_term = sum(weight * term for weight, term in zip(objective.tc_weights, terms, strict=True))
            loss = -(logs["reconstruction"] - beta * kl_term)
            if objective.mmd_weight:  # one z per image from the aggregate posterior against draws from p(z)
                draws = prior.sample((objective.mmd_prior_draws or len(x),))
                logs["mmd"] = mmd_squared(z[0], draws, self.prior_options.scale, objective.mmd_kernel)
                mmd_weight = torch.as_tensor(self.mmd_weight_now() if mmd_weight is None else mmd_weight)
                loss = loss + mmd_weight * logs["mmd"]
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
        if self.objective.tc_weights and not self.objective.dataset_size:
            train_set = getattr(datamodule, "train_set", None)
            if train_set is None:
                raise InputError("VAEModule: beta-TCVAE needs the training set's size: give the objective's "
                                 "dataset_size")
            self.objective = replace(self.objective, dataset_size=len(train_set))
            self.hparams.objective = asdict(self.objective)  # saved with the weights

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
        if self.training_loss is None:
            self.training_loss = CompiledOrEager(self.step, "VAEModule.step") if self.hparams.compile \
                else self.step
        loss, logs, _, _ = self.training_loss(batch, torch.tensor(self.beta_now(), device=self.device),
                                              torch.tensor(self.mmd_weight_now(), device=self.device))
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
        sums = [mean.sum(0), (mean**2).sum(0)] + ([] if kl_per_dim is None else [kl_per_dim.sum(0)])
        sums = torch.stack(sums)  # (3, L), or (2, L) without a per-dimension KL
        count = torch.tensor(len(mean), device=mean.device, dtype=mean.dtype)
        self._val_sums = (sums, count) if self._val_sums is None else (
            self._val_sums[0] + sums, self._val_sums[1] + count)

    def on_validation_epoch_end(self) -> None:
        if self._val_sums is None:
            return
        sums = self.trainer.strategy.reduce(self._val_sums[0], reduce_op="sum")
        count = self.trainer.strategy.reduce(self._val_sums[1], reduce_op="sum")
        mean_mu, mean_mu2, *mean_kl = sums / count
        variance = mean_mu2 - mean_mu**2  # Cov_x E_q[z_j], per dimension
        # Already the same on every rank; sync_dist averages equal values, and keeps Lightning from warning per key.
        self.log("val/active_units", (variance > ACTIVE_UNIT_THRESHOLD).sum().float(), sync_dist=True)
        if mean_kl:
            self.log_dict({f"val/kl_dim/{j:03d}": v for j, v in enumerate(mean_kl[0])}, sync_dist=True)

    def test_step(self, batch, batch_idx):
        x, labels = self.unpack(batch)
        _, logs, _, _ = self.step(batch)
        nll = -importance_sampled_log_likelihood(self, x, labels, self.test_nll.num_samples,
                                                 compile=self.test_nll.compile)
        recon = self._decode(self._encode(x, labels).mean, labels).mean
        self.test_mse(recon, x)
        self.test_psnr(recon, x)
        self.test_ssim(recon.float(), x.float())
        n = len(x)
        self.log_dict({"test/elbo": logs["elbo"], "test/reconstruction": logs["reconstruction"],
                       "test/kl": logs["kl"], "test/nll": nll.mean(),
                       "test/bits_per_dim": bits_per_dim(nll, x[0].numel(), self.dequantisation_levels).mean()},
                      batch_size=n, sync_dist=True)
        self.log_dict({"test/mse": self.test_mse, "test/psnr": self.test_psnr, "test/ssim": self.test_ssim},
                      batch_size=n)

    @property
    def dequantisation_levels(self) -> int | None:
        """None for a Bernoulli likelihood (a probability); 256 for a continuous density of 8-bit images."""
        return None if isinstance(self.likelihood, BernoulliLikelihood) else 256

    @property
    def test_protocol(self) -> dict:
        """How `lightning test` measured this module (written into its JSON report)."""
        bits = "nll / (pixels * ln 2)" if self.dequantisation_levels is None else (
            "(nll + pixels * ln 256) / (pixels * ln 2): the density of 8-bit images under uniform dequantisation")
        return {"nll": f"importance sampling, k={self.test_nll.num_samples} samples of q(z|x) per image, nats",
                "bits_per_dim": bits,
                "reconstructions": "mean of p(x|z) at z = E_q[z|x]; MSE, PSNR (data range 1), SSIM"}

    def predict_step(self, batch, batch_idx):
        x, labels = self.unpack(batch)
        return self.reconstruct(x, labels)

    def configure_optimizers(self):
        optimizer = build(self.hparams.optimizer, self.parameters())
        if self.hparams.lr_scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": build(self.hparams.lr_scheduler, optimizer)}


def check_hyperparameters(latent_dim, num_classes, prior: VAEPrior) -> None:
    problems = [
        (latent_dim < 1, f"latent_dim must be >= 1, got {latent_dim}"),
        (num_classes < 0, f"num_classes must be >= 0, got {num_classes}"),
        (prior.kind == "vamp" and num_classes > 0, "the VampPrior is for unconditional models: use num_classes=0"),
    ]
    refuse("VAEModule", problems)


@torch.no_grad()
def check_networks(encoder: nn.Module, decoder: nn.Module, image_shape, encoded: int, decoded_from: int,
                   num_classes) -> None:
    """Run both networks once on zeros so a shape mismatch fails at set-up, not mid-epoch."""
    labels = torch.zeros(2, dtype=torch.long) if num_classes else None
    modes = encoder.training, decoder.training
    encoder.eval(), decoder.eval()  # no batch-norm statistics from the dummy batch
    try:
        for net, given, want in [(encoder, torch.zeros(2, *image_shape), (2, encoded)),
                                 (decoder, torch.zeros(2, decoded_from), (2, *image_shape))]:
            try:
                got = tuple(net(given, labels).shape)
            except RuntimeError as error:
                raise InputError(f"{type(net).__name__} cannot take input of shape {tuple(given.shape[1:])} "
                                 f"(images {tuple(image_shape)}, latent size {decoded_from}): {error}") from error
            if got != want:
                raise InputError(f"{type(net).__name__} maps {tuple(given.shape)} to {got}; "
                                 f"the VAE needs {want} for images {tuple(image_shape)}")
    finally:
        encoder.train(modes[0]), decoder.train(modes[1])
