"""GAN objectives, from the discriminator's logits, and the discriminator's gradient penalties; `GANObjective`, the
component a GANModule is given, bundles a loss with its penalties and the players' step ratio.

For D(x) = sigmoid(l(x)): -log D = softplus(-l) and -log(1 - D) = softplus(l), so every log-loss below
is exact in float32 for any logit (no BCE on a sigmoid).

| objective        | discriminator minimises                  | generator minimises               |
|------------------|------------------------------------------|-----------------------------------|
| minimax          | -log D(x) - log(1 - D(G(z)))             | log(1 - D(G(z)))  (Goodfellow 14) |
| non_saturating   | same                                     | -log D(G(z))                      |
| hinge            | relu(1 - l(x)) + relu(1 + l(G(z)))       | -l(G(z))          (Miyato 18)     |
| wasserstein      | l(G(z)) - l(x)                           | -l(G(z))          (Arjovsky 17)   |
| least_squares    | (l(x) - 1)^2 / 2 + l(G(z))^2 / 2         | (l(G(z)) - 1)^2 / 2 (Mao 17)      |
| relativistic     | softplus(l(G(z_i)) - l(x_i))             | softplus(l(x_i) - l(G(z_i)))      |
| relativistic_    | softplus(-(l(x) - mean l(G(z))))         | the same with x and G(z) swapped  |
|   average        | + softplus(l(G(z)) - mean l(x))          |                                   |

`relativistic` is the relativistic pairing GAN (RpGAN; Jolicoeur-Martineau 2019), the objective of R3GAN (Huang et
al. 2024) together with the zero-centred penalties R1 on real and R2 on generated data: each real image x_i is
paired with the generated G(z_i) of the same row, so both players need both logits.

`relativistic_average` is RaSGAN (Jolicoeur-Martineau 2018, "The relativistic discriminator: a key element missing
from standard GAN", eqs. for RaSGAN): D judges whether a real image is more realistic than the generated ones on
average, D(x_r) = sigmoid(l(x_r) - E l(x_f)) and D(x_f) = sigmoid(l(x_f) - E l(x_r)), the expectations over the
batch; G minimises the same loss with the roles of real and generated swapped, so it too needs the real logits.
"""

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from zoo.errors import InputError, refuse

Objective = Literal["minimax", "non_saturating", "hinge", "wasserstein", "least_squares", "relativistic",
                    "relativistic_average"]
OBJECTIVES = ("minimax", "non_saturating", "hinge", "wasserstein", "least_squares", "relativistic",
              "relativistic_average")
PAIRED = ("relativistic", "relativistic_average")  # objectives whose generator loss needs the real batch's logits too


def relativistic_average_loss(favoured: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """-E log sigmoid(l(a) - E l(b)) - E log(1 - sigmoid(l(b) - E l(a))) for a = `favoured`, b = `other`: RaSGAN's
    loss of the player that wants `favoured` judged the more realistic (D: the reals; G: its fakes)."""
    return F.softplus(other.mean() - favoured).mean() + F.softplus(other - favoured.mean()).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, objective: Objective) -> torch.Tensor:
    if objective in ("minimax", "non_saturating"):
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if objective == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    if objective == "wasserstein":
        return fake_logits.mean() - real_logits.mean()
    if objective == "least_squares":
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()
    if objective == "relativistic":
        return F.softplus(fake_logits - real_logits).mean()
    if objective == "relativistic_average":
        return relativistic_average_loss(real_logits, fake_logits)
    raise InputError(f"unknown GAN objective {objective!r}; choose one of {OBJECTIVES}")


def generator_loss(fake_logits: torch.Tensor, objective: Objective,
                   real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """The generator's loss; `real_logits` (paired row by row with the fakes) only for the PAIRED objectives."""
    if objective == "minimax":
        return -F.softplus(fake_logits).mean()  # log(1 - D) = -softplus(l)
    if objective == "non_saturating":
        return F.softplus(-fake_logits).mean()  # -log D = softplus(-l)
    if objective in ("hinge", "wasserstein"):
        return -fake_logits.mean()
    if objective == "least_squares":
        return 0.5 * ((fake_logits - 1) ** 2).mean()
    if objective == "relativistic":
        if real_logits is None:
            raise InputError("the relativistic objective's generator loss pairs each fake with a real image: "
                             "pass real_logits")
        return F.softplus(real_logits - fake_logits).mean()
    if objective == "relativistic_average":
        if real_logits is None:
            raise InputError("the relativistic average objective's generator loss compares the fakes with the real "
                             "batch's mean logit: pass real_logits")
        return relativistic_average_loss(fake_logits, real_logits)  # the roles swapped
    raise InputError(f"unknown GAN objective {objective!r}; choose one of {OBJECTIVES}")


def _input_gradients(discriminator, x: torch.Tensor, labels) -> torch.Tensor:
    """d sum_i D(x_i) / dx, computed in float32 whatever the autocast context."""
    device_type = x.device.type
    with torch.autocast(device_type=device_type, enabled=False):
        x = x.detach().float().requires_grad_(True)
        logits = discriminator(x, labels).float()
        (gradients,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return gradients.flatten(1)  # (B, D)


def gradient_penalty(discriminator, real: torch.Tensor, fake: torch.Tensor, labels=None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2], x_hat on lines between real and fake."""
    t = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device, dtype=torch.float32)
    between = t * real.float() + (1 - t) * fake.detach().float()
    return ((_input_gradients(discriminator, between, labels).norm(dim=1) - 1) ** 2).mean()


def zero_centred_penalty(discriminator, x: torch.Tensor, labels=None) -> torch.Tensor:
    """E_x[||grad_x D(x)||^2]: R1 (Mescheder et al. 2018) over real images x, R2 over generated ones."""
    return _input_gradients(discriminator, x, labels).pow(2).sum(1).mean()


@dataclass(frozen=True)
class GANObjective:
    """The game GANModule plays: the players' losses, the discriminator's penalties and how often each player steps.
    In a recipe, `objective: hinge` or `objective: {loss: wasserstein, n_critic: 5, gradient_penalty: 10}`.

    Args:
        loss: the players' losses, one of OBJECTIVES (the table above): "minimax", "non_saturating" (G minimises
            -log D(G(z))), "hinge", "wasserstein", "least_squares", "relativistic" (RpGAN's pairing loss, Huang et
            al. 2024), "relativistic_average" (RaSGAN).
        n_critic: discriminator steps per generator step (WGAN-GP: 5).
        gradient_penalty: WGAN-GP's lambda on (||grad D(x_hat)|| - 1)^2 at interpolates (the paper: 10).
        r1_gamma: R1, r1_gamma / 2 * E[||grad D(x)||^2] on the real images (Mescheder et al. 2018).
        r2_gamma: R2, r2_gamma / 2 * E[||grad D(G(z))||^2] on the generated images (R3GAN: = r1_gamma).
        r1_every: apply R1 and R2 every this many discriminator steps, scaled by it (StyleGAN2's lazy schedule).
    """

    loss: Objective = "non_saturating"
    n_critic: int = 1
    gradient_penalty: float = 0.0
    r1_gamma: float = 0.0
    r2_gamma: float = 0.0
    r1_every: int = 1

    def __post_init__(self):
        problems = [
            (self.loss not in OBJECTIVES, f"loss must be one of {OBJECTIVES}, got {self.loss!r}"),
            (self.n_critic < 1, f"n_critic must be >= 1, got {self.n_critic}"),
            (min(self.gradient_penalty, self.r1_gamma, self.r2_gamma) < 0,
             "gradient_penalty, r1_gamma and r2_gamma must be >= 0"),
            (self.r1_every < 1, f"r1_every must be >= 1, got {self.r1_every}"),
        ]
        refuse("GANObjective", problems)

    @property
    def paired(self) -> bool:
        """Whether the generator's loss needs the real batch's logits too."""
        return self.loss in PAIRED

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return discriminator_loss(real_logits, fake_logits, self.loss)

    def generator_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return generator_loss(fake_logits, self.loss, real_logits)

    def penalties(self, discriminate, real: torch.Tensor, fake: torch.Tensor, labels, step: int) -> dict:
        """The discriminator's penalties at its `step` (0, 1, ...) as {name: (weight, value)}: WGAN-GP's, and R1 and R2
        on the lazy steps, weighted gamma / 2 times their period."""
        terms = {}
        if self.gradient_penalty > 0:
            terms["gradient_penalty"] = (self.gradient_penalty, gradient_penalty(discriminate, real, fake, labels))
        if step % self.r1_every == 0:
            for name, gamma, images in (("r1_penalty", self.r1_gamma, real), ("r2_penalty", self.r2_gamma, fake)):
                if gamma > 0:
                    terms[name] = (gamma / 2 * self.r1_every, zero_centred_penalty(discriminate, images, labels))
        return terms
