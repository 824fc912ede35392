"""The Mutual Information Gap of a VAE's latents (zoo.metrics.mig) at `lightning test`, and every N validation
epochs if asked, on data whose batches are (images, factor indices) and which names its factors (`factor_names`),
such as zoo.data.Sprites.

Protocol: the posterior means E_q[z|x] of the first `num_images` images of the test split (the validation split
while training), each latent cut into `bins` equal-width bins; logged as `<stage>/mig` (the mean gap over
`factors`, by default all the data's factors) and `<stage>/mig/<factor>` (every factor's gap).
"""

import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info

from zoo.callbacks.schedule import TestAndEveryNEpochs
from zoo.errors import InputError
from zoo.metrics.mig import mutual_information_gaps


class MutualInformationGap(TestAndEveryNEpochs):
    """The Mutual Information Gap of a VAE's posterior means on data that names its factors (see the module docstring).

    Args:
        num_images: the images measured, the first of the test split (of the validation split while training); 64
            in a fast_dev_run.
        bins: the equal-width bins each latent is cut into.
        factors: the factors `<stage>/mig` averages over; None, all the data's factors (every factor's gap is logged
            as `<stage>/mig/<factor>` either way).
        every_n_epochs: also evaluate after every N-th validation epoch of a fit; 0, only at `lightning test`.
    """

    def __init__(self, num_images: int = 10_000, bins: int = 20, factors: list[str] | None = None,
                 every_n_epochs: int = 0):
        super().__init__()
        if num_images < 2 or bins < 2 or every_n_epochs < 0:
            raise InputError("MutualInformationGap: num_images >= 2, bins >= 2 and every_n_epochs >= 0")
        self.num_images, self.bins, self.factors, self.every_n_epochs = num_images, bins, factors, every_n_epochs
        self.protocol: dict = {}

    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> dict[str, float]:
        data = trainer.datamodule
        names = list(getattr(data, "factor_names", None) or [])
        if not names:
            raise InputError(f"MutualInformationGap needs data that names its factors (factor_names) and gives "
                             f"(images, factors) batches, such as zoo.data.Sprites; {type(data).__name__} does not")
        chosen = names if self.factors is None else self.factors
        unknown = sorted(set(chosen) - set(names))
        if unknown or not chosen:
            raise InputError(f"MutualInformationGap: factors must be some of {names}, got {self.factors}")
        num_images = min(self.num_images, 64) if trainer.fast_dev_run else self.num_images
        loader = data.test_dataloader() if stage == "test" else data.val_dataloader()
        means, factors = posterior_means(module, loader, num_images)
        gaps = mutual_information_gaps(means, factors, self.bins)
        results = {f"{stage}/mig": float(np.nanmean([gaps[names.index(name)] for name in chosen])),
                   **{f"{stage}/mig/{name}": float(gap) for name, gap in zip(names, gaps, strict=True)}}
        module.log_dict(results, rank_zero_only=True)
        self.protocol = {"num_images": len(means), "split": stage, "data": type(data).__name__, "bins": self.bins,
                         "factors": chosen, "latents": "posterior means E_q[z|x]",
                         "mutual_information": "plug-in estimate from the joint histogram of the binned latent "
                                               "and the factor's values (sklearn mutual_info_score), nats",
                         "gap": "(I(z_(1); v_k) - I(z_(2); v_k)) / H(v_k), averaged over `factors`"}
        rank_zero_info(", ".join(f"{name} = {value:.4g}" for name, value in results.items()))
        return results


@torch.no_grad()
def posterior_means(module: L.LightningModule, loader, num_images: int) -> tuple[np.ndarray, np.ndarray]:
    """E_q[z|x] (N, L) and the factors (N, K) of the first `num_images` (x, factors) items of `loader`."""
    was_training = module.training
    module.eval()
    means, factors, count = [], [], 0
    for x, batch_factors in loader:
        means.append(module.encode(x.to(module.device)).mean.double().cpu())
        factors.append(batch_factors)
        count += len(x)
        if count >= num_images:
            break
    module.train(was_training)
    return torch.cat(means)[:num_images].numpy(), torch.cat(factors)[:num_images].numpy()
