"""Auxiliary heads on the discriminator: InfoGAN's Q network (Chen et al. 2016) and ACGAN's class head (Odena et
al. 2017).

Both are components GANModule is given as `head` and builds as head(num_classes, latent_dim). Both share the
discriminator's body: GANModule builds the discriminator with 1 + `head.size` outputs: the first is
the real/fake logit, the rest are the auxiliary head's, a final linear layer on the shared features (InfoGAN: "Q and
D share all convolutional layers and there is one final fully connected layer to output parameters for the
conditional distribution Q(c|x)"). The head's parameters are the discriminator's, trained by its optimizer.

InfoGAN: the generator's input holds a categorical code c ~ Uniform{0, ..., K-1} (InfoGANHead's `categories`, given
to the generator one-hot as a class label would be) and continuous codes c' ~ Uniform[-1, 1]^k (the last k entries of
z, `continuous`). Q(c, c'|x) is a categorical distribution (K logits) times independent Gaussians
(k means; k log standard deviations when learned, else sigma = 1 as in the paper's code). The variational lower
bound on the mutual information I(c, c'; G(z, c, c')) is (paper, eq. 5)

    L_I = H(c) + H(c') + E[log Q(c, c'|G(z, c, c'))]   (nats; at most H(c) + H(c') = log K + k log 2),

and both players minimise  lambda * (-E log Q(c|x)) + lambda' * (-E log Q(c'|x))  on generated images, the
cross-entropy of the category and the Gaussian negative log-likelihood of the continuous codes (summed over codes),
with lambda = `weight` (1 in the paper) and lambda' = `continuous_weight` (1 in the paper's code).

ACGAN: the class head outputs K class logits from the image alone (the discriminator is not given the label). The
discriminator minimises its adversarial loss + w * (CE(real class) + CE(fake's asked class)), the generator its
adversarial loss + w * CE(fake's asked class) (the paper's L_C on real and on fake), w = ACGANHead's `weight`.
"""

import math

import torch
import torch.nn.functional as F

from zoo.errors import InputError, refuse


def gaussian_nll(mean: torch.Tensor, log_std: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log N(target; mean, exp(log_std)^2) per row (B,), summed over the last dimension."""
    return (0.5 * math.log(2 * math.pi) + log_std + 0.5 * ((target - mean) * torch.exp(-log_std)) ** 2).sum(-1)


class InfoGANHead:
    """InfoGAN's Q: K category logits, then k Gaussian means (and k log standard deviations when learned). GANModule
    builds it as head(num_classes, latent_dim); in a recipe, `head: {class_path: zoo.modules.auxiliary.InfoGANHead,
    init_args: {categories: 10, continuous: 2}}`.

    Args:
        num_classes: the GAN's classes, given by GANModule: 0 (InfoGAN's code stands in for a label).
        latent_dim: the size of z, given by GANModule: the continuous codes are its last entries.
        categories: K, the categorical code's categories, one-hot after z in G's input (the paper on MNIST: 10).
        continuous: k, the continuous codes: the last k entries of z, ~ Uniform[-1, 1] (the paper on MNIST: 2).
        weight: lambda on the category's cross-entropy (the paper: 1).
        continuous_weight: lambda' on the continuous codes' Gaussian negative log-likelihood (the paper's code: 1).
        learn_variance: Q's Gaussians learn their standard deviations; else sigma = 1, as in the paper's code.
    """

    discriminator_sees_labels = True

    def __init__(self, num_classes: int, latent_dim: int, categories: int = 10, continuous: int = 0,
                 weight: float = 1.0, continuous_weight: float = 1.0, learn_variance: bool = False):
        problems = [
            (num_classes > 0, "InfoGAN's categorical code stands in for a label: use it in an unconditional GAN "
                              "(num_classes 0)"),
            (categories < 0, f"categories must be >= 0, got {categories}"),
            (not 0 <= continuous < latent_dim,
             f"continuous must lie in [0, latent_dim) (the last entries of z), got {continuous}"),
            (min(weight, continuous_weight) < 0, "weight and continuous_weight must be >= 0"),
            (not categories and not continuous, "InfoGAN's Q needs a code: categories or continuous > 0"),
        ]
        refuse("InfoGANHead", problems)
        self.categories, self.continuous = categories, continuous
        self.weight, self.continuous_weight, self.learn_variance = weight, continuous_weight, learn_variance
        self.size = categories + continuous * (2 if learn_variance else 1)

    def split(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q's outputs (B, size) -> category logits (B, K), means (B, k), log standard deviations (B, k)."""
        k, c = self.categories, self.continuous
        logits, mean = q[:, :k], q[:, k: k + c]
        log_std = q[:, k + c:] if self.learn_variance else torch.zeros_like(mean)  # sigma = 1
        return logits, mean, log_std

    def information_terms(self, q: torch.Tensor, categories: torch.Tensor | None, z: torch.Tensor) -> dict:
        """-E log Q(c|x) (`q_cross_entropy`), -E log Q(c'|x) (`q_gaussian_nll`) and the bound L_I (`mi_lower_bound`,
        nats) of images generated from categories c (B,) and z (B, latent_dim), whose last k entries are c'."""
        logits, mean, log_std = self.split(q)
        zero = q.new_zeros(())
        cross_entropy = F.cross_entropy(logits, categories) if self.categories else zero
        nll = gaussian_nll(mean, log_std, z[:, z.shape[1] - self.continuous:]).mean() if self.continuous else zero
        entropy = math.log(self.categories) if self.categories else 0.0  # H(c) + H(c'), c' ~ Uniform[-1, 1]^k
        entropy += self.continuous * math.log(2.0)
        return {"q_cross_entropy": cross_entropy, "q_gaussian_nll": nll,
                "mi_lower_bound": entropy - cross_entropy - nll}

    def loss(self, q: torch.Tensor, categories: torch.Tensor | None, z: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """lambda * L_cat + lambda' * L_cont on generated images, and the terms to log."""
        terms = self.information_terms(q, categories, z)
        loss = self.weight * terms["q_cross_entropy"] + self.continuous_weight * terms["q_gaussian_nll"]
        return loss, {name: value.detach() for name, value in terms.items()}

    def discriminator_loss(self, real_aux, fake_aux, real_labels, fake_labels, z) -> tuple[torch.Tensor, dict]:
        return self.loss(fake_aux, fake_labels, z)  # Q is fitted on generated images only: their codes are known

    def generator_loss(self, fake_aux, fake_labels, z) -> torch.Tensor:
        return self.loss(fake_aux, fake_labels, z)[0]


class ACGANHead:
    """ACGAN's class head: K class logits from the image alone. GANModule builds it as head(num_classes, latent_dim);
    in a recipe, `head: {class_path: zoo.modules.auxiliary.ACGANHead, init_args: {weight: 1.0}}`.

    Args:
        num_classes: K, the GAN's classes, given by GANModule: the head's logits.
        latent_dim: the size of z, given by GANModule (unused).
        weight: w, the weight of the class cross-entropies in both players' losses.
    """

    discriminator_sees_labels = False  # it predicts the class instead of being given it
    categories = continuous = 0  # no latent code of its own

    def __init__(self, num_classes: int, latent_dim: int, weight: float = 1.0):
        if num_classes < 1 or weight < 0:
            raise InputError(f"ACGANHead: ACGAN's class head needs a class-conditional GAN (num_classes > 0, got "
                             f"{num_classes}) and a weight >= 0 (got {weight})")
        self.size, self.weight = num_classes, weight

    def discriminator_loss(self, real_aux, fake_aux, real_labels, fake_labels, z) -> tuple[torch.Tensor, dict]:
        real_ce, fake_ce = F.cross_entropy(real_aux, real_labels), F.cross_entropy(fake_aux, fake_labels)
        return self.weight * (real_ce + fake_ce), {"class_ce_real": real_ce.detach(), "class_ce_fake": fake_ce.detach()}

    def generator_loss(self, fake_aux, fake_labels, z) -> torch.Tensor:
        return self.weight * F.cross_entropy(fake_aux, fake_labels)
