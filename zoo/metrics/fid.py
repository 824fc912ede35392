"""FID, KID and Inception Score of generated images, computed by torchmetrics on one pass of a feature extractor.

torchmetrics does the statistics (FID: Heusel et al. 2017; KID: Binkowski et al. 2018; IS: Salimans et al.
2016). Here the extractor runs once per batch and its features and logits feed all three metrics, whose
`feature` module is then the identity. Images stream in batches: FID keeps running sums, KID and IS keep
the features (B x 128 or B x 2048 floats), never the images.

The real side is kept across `reset()` (torchmetrics' `reset_real_features=False`) and can be saved and
loaded, so a second evaluation against the same data does not recompute it.
"""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance  # the submodules: torch-fidelity is only
from torchmetrics.image.inception import InceptionScore  # needed for Inception features, which
from torchmetrics.image.kid import KernelInceptionDistance  # zoo.metrics.extractors imports itself
from torchmetrics.utilities import dim_zero_cat

from zoo.metrics.manifold import manifold_metrics

REAL_STATES = ("real_features_sum", "real_features_cov_sum", "real_features_num_samples")


class Precomputed(nn.Module):
    """The identity, as torchmetrics' `feature` module: the features are computed before `update`."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class ImageQuality(nn.Module):
    """`manifold`: also precision, recall, density and coverage (zoo.metrics.manifold) of the features KID keeps
    (so only with `kid`)."""

    def __init__(self, extractor: nn.Module, kid: bool = True, inception_score: bool = True,
                 kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0, manifold: bool = True):
        super().__init__()
        self.extractor, self.seed, self.kid_subset_size = extractor, seed, kid_subset_size
        self.manifold = manifold and kid
        width = extractor.num_features
        self.fid = FrechetInceptionDistance(feature=Precomputed(width), reset_real_features=False)
        self.kid = KernelInceptionDistance(feature=Precomputed(width), subsets=kid_subsets,
                                           subset_size=kid_subset_size, reset_real_features=False) if kid else None
        self.inception_score = InceptionScore(feature=Precomputed(0)) if inception_score else None

    @property
    def num_real(self) -> int:
        return int(self.fid.real_features_num_samples)

    @torch.no_grad()
    def update(self, images: torch.Tensor, real: bool) -> None:
        """Add images (B, C, H, W) in [0, 1] to the real or the generated side."""
        features, logits = self.extractor(images)
        self.fid.update(features.double(), real=real)  # float64 statistics, and an FID returned in float64
        if self.kid is not None:
            self.kid.update(features, real=real)
        if self.inception_score is not None and not real:
            self.inception_score.update(logits)

    def compute(self) -> dict[str, float]:
        """All metrics; under torch.distributed every rank must call it (the states are reduced across ranks)."""
        results = {"fid": float(self.fid.compute())}
        with torch.random.fork_rng(devices=[]):  # KID's subsets and IS's splits draw permutations:
            torch.manual_seed(self.seed)  # the same on every rank and every evaluation
            if self.kid is not None:
                num_fake = int(self.fid.fake_features_num_samples)  # local count; the subsets need the global one
                # per evaluation: a small one must not shrink the subsets of the next
                self.kid.subset_size = min(self.kid_subset_size, self.num_real_total(), self.total(num_fake))
                kid_mean, kid_std = self.kid.compute()
                results.update(kid_mean=float(kid_mean), kid_std=float(kid_std))
                if self.manifold:
                    with self.kid.sync_context():  # every rank's features, as KID's compute gathers them
                        real, fake = (dim_zero_cat(features) for features in
                                      (self.kid.real_features, self.kid.fake_features))
                    results.update(manifold_metrics(real, fake))
            if self.inception_score is not None:
                is_mean, is_std = self.inception_score.compute()
                results.update(inception_score_mean=float(is_mean), inception_score_std=float(is_std))
        return results

    def reset_generated(self) -> None:
        """Forget the generated side; the real side stays."""
        for metric in (self.fid, self.kid, self.inception_score):
            if metric is not None:
                metric.reset()

    # --- the real side, across ranks and on disk ---------------------------------------------------------
    def num_real_total(self) -> int:
        return self.total(self.num_real)

    @staticmethod
    def total(count: int) -> int:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            counts = torch.tensor([count], dtype=torch.long)
            if torch.distributed.get_backend() == "nccl":
                counts = counts.cuda()
            torch.distributed.all_reduce(counts)
            return int(counts)
        return count

    def reset_real(self) -> None:
        """Forget the real side too (torchmetrics' `reset` keeps it: `reset_real_features=False`)."""
        self.reset_generated()
        for name in REAL_STATES:
            getattr(self.fid, name).zero_()
        if self.kid is not None:
            self.kid.real_features = []

    def hold_no_real(self) -> None:
        """Leave the real side empty here (ranks other than 0), keeping one tensor per list state so
        every rank makes the same collective calls when the states are gathered."""
        if self.kid is not None:
            self.kid.real_features = [torch.zeros(0, self.extractor.num_features, device=self.fid.device)]

    def save_real(self, path: str | Path, protocol: dict) -> None:
        tensors = {name: getattr(self.fid, name) for name in REAL_STATES}
        if self.kid is not None:
            tensors["kid_real_features"] = torch.cat(self.kid.real_features)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(path),
                  metadata={"protocol": json.dumps(protocol, sort_keys=True)})

    def load_real(self, path: str | Path) -> bool:
        """Load the real side saved by `save_real`; False if it lacks what this instance needs."""
        tensors = load_file(str(path), device=str(self.fid.device))
        if self.kid is not None and "kid_real_features" not in tensors:
            return False
        for name in REAL_STATES:
            setattr(self.fid, name, tensors[name])
        if self.kid is not None:
            self.kid.real_features = [tensors["kid_real_features"]]
        return True
