"""The VAE's prior p(z), a component VAEModule is given as `prior`: N(0, s^2 I) or the VampPrior (Tomczak & Welling
2018) over one stochastic layer, or over the top layer z2 of two, z = (z1, z2) with p(z2) p(z1|z2).

In a recipe, `prior: vamp`, or `prior: {kind: vamp, num_pseudo_inputs: 500, top_latent_dim: 40, hierarchy:
top_down}`. The module builds the networks these options shape (the pseudo-inputs, q(z2|.) and p(z1|z2)); its
docstring gives the maths of both hierarchies.
"""

from dataclasses import dataclass, field
from typing import Literal

from zoo.errors import refuse


@dataclass(frozen=True)
class VAEPrior:
    """p(z) and the stochastic layers it spans.

    Args:
        kind: "gaussian", N(0, s^2 I); "vamp", the VampPrior's mixture of q(z|u_k) at K learned pseudo-inputs.
        scale: s in N(0, s^2 I).
        num_pseudo_inputs: K, the VampPrior's components (500 in the paper's MNIST models).
        top_latent_dim: the size of z2; 0, one stochastic layer (Burda et al.'s two-layer model: 100, 50).
        top_hidden: the hidden widths of the MLPs of q(z2|.) and p(z1|z2).
        top_activation: their activation, a torch.nn class name, or "Gated" (zoo.nets.mlp.GatedLinear).
        hierarchy: with top_latent_dim, "bottom_up" (Burda et al.'s stacked form, q(z1|x) q(z2|z1), p(x|z1)) or
            "top_down" (Tomczak & Welling's HVAE, q(z2|x) q(z1|x, z2), p(x|z1, z2)).
    """

    kind: Literal["gaussian", "vamp"] = "gaussian"
    scale: float = 1.0
    num_pseudo_inputs: int = 500
    top_latent_dim: int = 0
    top_hidden: list[int] = field(default_factory=lambda: [100, 100])
    top_activation: str = "Tanh"
    hierarchy: Literal["bottom_up", "top_down"] = "bottom_up"

    def __post_init__(self):
        object.__setattr__(self, "top_hidden", list(self.top_hidden))
        problems = [
            (self.kind not in ("gaussian", "vamp"), f"kind must be 'gaussian' or 'vamp', got {self.kind!r}"),
            (self.scale <= 0, f"scale must be > 0, got {self.scale}"),
            (self.num_pseudo_inputs < 1, f"num_pseudo_inputs must be >= 1, got {self.num_pseudo_inputs}"),
            (self.top_latent_dim < 0,
             f"top_latent_dim must be >= 0 (0: one stochastic layer), got {self.top_latent_dim}"),
            (self.hierarchy not in ("bottom_up", "top_down"),
             f"hierarchy must be 'bottom_up' or 'top_down', got {self.hierarchy!r}"),
        ]
        refuse("VAEPrior", problems)

    @property
    def top_down(self) -> bool:
        return bool(self.top_latent_dim) and self.hierarchy == "top_down"

    @property
    def factorises(self) -> bool:
        """N(0, s^2 I) over one stochastic layer: a closed-form KL per dimension."""
        return self.kind == "gaussian" and not self.top_latent_dim
