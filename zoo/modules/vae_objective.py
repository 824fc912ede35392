"""What a VAE is trained on, a component VAEModule is given as `objective`: the ELBO with its KL weighted, warmed up
or floored, or the IWAE bound, and the regularisers of the families built on them (WAE-MMD, InfoVAE, beta-TCVAE).

In a recipe, `objective: iwae` with `num_samples`, or `objective: {beta: 0.0, mmd_weight: 10.0,
deterministic_encoder: true}` (WAE-MMD), `objective: {tc_weights: [1, 6, 1]}` (beta-TCVAE). A combination that
cannot work is refused when the objective is built; one that does not fit the prior, when the module is.
"""

from dataclasses import dataclass
from typing import Literal

from zoo.distributions.mmd import Kernel
from zoo.errors import InputError, refuse


@dataclass(frozen=True)
class VAEObjective:
    """The training objective of a VAE and its regularisers.

    Args:
        bound: "elbo", or "iwae", the num_samples-sample importance-weighted bound (Burda et al. 2016).
        num_samples: the samples of z per image in training (k of the IWAE bound; averaged under the ELBO).
        beta: the weight on the KL (Higgins et al. 2017); 1 is the ELBO, 0 with mmd_weight is WAE-MMD.
        kl_warmup_steps: the KL weight rises linearly from 0 to beta over this many steps; 0, no warm-up.
        free_bits: each latent dimension's batch-mean KL counts at least this many nats (Kingma et al. 2016).
        mmd_weight: lambda in lambda * MMD^2(q(z), p(z)) on the batch's codes (zoo.distributions.mmd): WAE-MMD with
            beta = 0, InfoVAE with beta > 0.
        mmd_kernel: the MMD's kernel, "imq" (the WAE authors') or "rbf" (the InfoVAE authors').
        mmd_warmup_steps: the MMD's weight rises linearly from 0 to mmd_weight over this many steps; 0, no warm-up.
        mmd_prior_draws: the draws from p(z) the batch's codes are compared with; 0, as many as the batch (the
            authors' code). More draws lower the estimate's variance, not its mean.
        deterministic_encoder: train on z = mu(x) without noise, the WAE's encoder (needs beta = 0).
        tc_weights: beta-TCVAE's (alpha, beta, gamma) on index-code MI, total correlation and dimension-wise KL
            (the paper: (1, 6, 1)); None, the plain KL.
        dataset_size: N in beta-TCVAE's minibatch-weighted estimate of log q(z); 0, the training set's size,
            read at fit.
    """

    bound: Literal["elbo", "iwae"] = "elbo"
    num_samples: int = 1
    beta: float = 1.0
    kl_warmup_steps: int = 0
    free_bits: float = 0.0
    mmd_weight: float = 0.0
    mmd_kernel: Kernel = "imq"
    mmd_warmup_steps: int = 0
    mmd_prior_draws: int = 0
    deterministic_encoder: bool = False
    tc_weights: list[float] | None = None
    dataset_size: int = 0

    def __post_init__(self):
        if self.tc_weights is not None:
            object.__setattr__(self, "tc_weights", [float(w) for w in self.tc_weights])
        iwae, tc = self.bound == "iwae", self.tc_weights is not None
        problems = [
            (self.bound not in ("elbo", "iwae"), f"bound must be 'elbo' or 'iwae', got {self.bound!r}"),
            (self.num_samples < 1, f"num_samples (k) must be >= 1, got {self.num_samples}"),
            (self.beta < 0, f"beta must be >= 0, got {self.beta}"),
            (self.kl_warmup_steps < 0, f"kl_warmup_steps must be >= 0, got {self.kl_warmup_steps}"),
            (self.free_bits < 0, f"free_bits must be >= 0, got {self.free_bits}"),
            (self.mmd_weight < 0, f"mmd_weight must be >= 0, got {self.mmd_weight}"),
            (self.mmd_warmup_steps < 0, f"mmd_warmup_steps must be >= 0, got {self.mmd_warmup_steps}"),
            (self.mmd_prior_draws < 0 or self.mmd_prior_draws == 1,
             f"mmd_prior_draws must be 0 (as many as the batch) or >= 2, got {self.mmd_prior_draws}"),
            (iwae and (self.beta != 1 or self.free_bits > 0 or self.kl_warmup_steps > 0 or self.mmd_weight != 0),
             "the IWAE bound has no KL term: leave beta=1, free_bits=0, kl_warmup_steps=0 and mmd_weight=0"),
            (self.deterministic_encoder and (self.beta != 0 or iwae),
             "deterministic_encoder trains an auto-encoder with no KL term: use beta=0 and bound='elbo'"),
            (tc and (len(self.tc_weights) != 3 or min(self.tc_weights) < 0),
             f"tc_weights must be three weights >= 0 (alpha, beta, gamma), got {self.tc_weights}"),
            (self.dataset_size < 0,
             f"dataset_size must be >= 0 (0: read it from the data at fit), got {self.dataset_size}"),
            (tc and (self.beta != 1 or self.free_bits > 0),
             "with tc_weights the KL's weights are tc_weights: leave beta=1 and free_bits=0"),
            (tc and iwae, "tc_weights weigh the ELBO's KL: use bound='elbo'"),
        ]
        refuse("VAEObjective", problems)

    def check_prior(self, prior) -> None:
        """Refuse the options that need a prior factorising over one stochastic layer (zoo.modules.vae_prior) when it
        does not."""
        needs = [(self.free_bits > 0, "free bits need the closed-form KL per dimension"),
                 (self.deterministic_encoder, "deterministic_encoder has no posterior density to weigh"),
                 (self.tc_weights is not None, "tc_weights need a prior that factorises over dimensions")]
        for used, reason in needs:
            if used and not prior.factorises:
                raise InputError(f"VAEModule: {reason}: use a gaussian prior and one stochastic layer")
