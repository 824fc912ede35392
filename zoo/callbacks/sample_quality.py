"""FID, KID, Inception Score, precision/recall and density/coverage of a model's samples against a real split, at
test time and every N epochs.

Protocol: `num_samples` images from `module.sample` (class labels cycled for conditional models, a fixed
seed per evaluation) against `num_real` images (all by default) of the data module's `real_split` (by
default the validation split while training and the test split at test), as stored (never binarised),
both clamped to [0, 1]. The extractor is the project's digit classifier for 1-channel data and InceptionV3
otherwise (`extractor: auto`). A model with an EMA generator is measured on the EMA generator's samples and,
with `live` (the default), also on the trained generator's samples from the same noise (`test/fid_live`, ...).
Each result is logged (`test/fid`, `val/fid`, ...) and printed with its protocol stamp, which `lightning test`
also writes to its JSON report.

Real statistics are cached on disk per (data set and its images, split, count, extractor weights), under
`cache_dir` (default `$ZOO_CACHE_DIR/real_statistics`, else `~/.cache/zoo/real_statistics`). Under DDP
every rank generates its share of the samples, rank 0 alone holds the real side, and every rank calls
`compute()`, which reduces the states across ranks.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Literal

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader, Subset

from zoo.callbacks.schedule import TestAndEveryNEpochs
from zoo.errors import InputError
from zoo.metrics.extractors import build_extractor
from zoo.metrics.fid import ImageQuality
from zoo.metrics.manifold import PROTOCOL as MANIFOLD_PROTOCOL


def default_cache_dir() -> Path:
    return Path(os.environ.get("ZOO_CACHE_DIR", Path.home() / ".cache" / "zoo")) / "real_statistics"


class SampleQuality(TestAndEveryNEpochs):
    """FID, KID, Inception Score, precision/recall and density/coverage of a model's samples (see the module docstring).

    Args:
        every_n_epochs: also measure after every N-th validation epoch of a fit; 0, only at `lightning test`.
        num_samples: the generated images measured (64 in a fast_dev_run), class labels cycled for conditional models.
        num_real: the real images of the split measured; None, all of them.
        real_split: the split the real images come from; None, val while training and test at test.
        extractor: the feature extractor: "digit_classifier", "inception", or "auto", the digit classifier for
            1-channel data and Inception otherwise.
        weights_path: the extractor's weights file (an offline Inception, for instance); None, the shipped digit
            classifier, or Inception's weights downloaded on first use.
        kid: also the Kernel Inception Distance.
        inception_score: also the Inception Score, from the extractor's logits.
        manifold: also precision/recall (k = 3) and density/coverage (k = 5) of the features KID keeps; needs `kid`.
        batch_size: the images generated, or read from the real split, and passed through the extractor per batch.
        cache_dir: the folder of the cached real statistics; None, `$ZOO_CACHE_DIR/real_statistics`, else
            `~/.cache/zoo/real_statistics`.
        seed: the seed of the generated samples (rank r draws with seed + 1000 r), of KID's subsets and of the
            Inception Score's splits.
        live: for a model with an EMA generator, also the trained generator's metrics on the same noise, as
            `<name>_live`.
    """

    def __init__(
        self,
        every_n_epochs: int = 0,
        num_samples: int = 10_000,
        num_real: int | None = None,
        real_split: Literal["test", "val", "train"] | None = None,
        extractor: Literal["auto", "digit_classifier", "inception"] = "auto",
        weights_path: str | None = None,
        kid: bool = True,
        inception_score: bool = True,
        manifold: bool = True,
        batch_size: int = 500,
        cache_dir: str | None = None,
        seed: int = 0,
        live: bool = True,
    ):
        super().__init__()
        if every_n_epochs < 0 or num_samples < 2 or batch_size < 1 or (num_real is not None and num_real < 2):
            raise InputError("SampleQuality: every_n_epochs >= 0, num_samples >= 2, num_real >= 2 and batch_size >= 1")
        self.every_n_epochs, self.num_samples, self.num_real = every_n_epochs, num_samples, num_real
        self.real_split, self.extractor_name, self.weights_path = real_split, extractor, weights_path
        self.kid, self.inception_score, self.batch_size, self.seed = kid, inception_score, batch_size, seed
        self.live, self.manifold = live, manifold and kid
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.quality: ImageQuality | None = None
        self.real_key: str | None = None
        self.real_request: tuple | None = None  # (data module, split, num_real) the real side was built for
        self.protocol: dict = {}

    # --- what --------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, trainer: L.Trainer, module: L.LightningModule, stage: str) -> dict[str, float]:
        data = trainer.datamodule
        if len(getattr(data, "dims", ())) != 3:
            raise InputError(f"SampleQuality needs image data (C, H, W); {type(data).__name__} has dims "
                             f"{getattr(data, 'dims', None)}. Remove the callback for this recipe.")
        smoke = bool(trainer.fast_dev_run)  # one quick pass through the code path
        num_samples = min(self.num_samples, 64) if smoke else self.num_samples
        num_real = min(self.num_real or 64, 64) if smoke else self.num_real
        split = self.real_split or ("test" if stage == "test" else "val")
        quality = self.prepare(data, split, module.device, num_real, trainer.global_rank)
        results = self.measure(quality, trainer, module, num_samples, {})
        has_ema = getattr(module, "generator_ema", None) is not None
        if has_ema and self.live:  # the trained generator too, on the same noise
            live = self.measure(quality, trainer, module, num_samples, {"ema": False})
            results.update({f"{name}_live": value for name, value in live.items()})
        self.protocol = {**quality.extractor.protocol, "real_split": split,
                         "num_real": quality.num_real_total(), "num_generated": num_samples,
                         "image_size": list(data.dims), "data": type(data).__name__,
                         "kid_subset_size": quality.kid.subset_size if quality.kid is not None else None,
                         **({"manifold": MANIFOLD_PROTOCOL} if quality.manifold else {}),
                         "sampler": ("EMA generator; *_live: the trained generator" if self.live else "EMA generator")
                         if has_ema else "generator",
                         "real_statistics": self.real_key}
        module.log_dict({f"{stage}/{name}": value for name, value in results.items()}, sync_dist=False)
        stamp = ", ".join(f"{k}={v}" for k, v in self.protocol.items() if k != "real_statistics")
        numbers = ", ".join(f"{stage}/{name} = {value:.4g}" for name, value in results.items())
        rank_zero_info(f"{numbers}  [{stamp}]")
        for logger in trainer.loggers:
            logger.log_hyperparams({f"{stage}/sample_quality_protocol": json.dumps(self.protocol)})
        return results

    def measure(self, quality: ImageQuality, trainer: L.Trainer, module: L.LightningModule, num_samples: int,
                options: dict) -> dict[str, float]:
        """The metrics of `num_samples` samples of `module.sample(n, labels, **options)`, drawn with the seed."""
        quality.reset_generated()
        was_training = module.training
        module.eval()
        rank, world = trainer.global_rank, trainer.world_size
        mine = num_samples // world + (rank < num_samples % world)  # this rank's share
        num_classes = module.hparams.get("num_classes", 0)
        with torch.random.fork_rng(devices=[module.device] if module.device.type == "cuda" else []):
            torch.manual_seed(self.seed + 1000 * rank)
            for start in range(0, mine, self.batch_size):
                n = min(self.batch_size, mine - start)
                labels = (torch.arange(start, start + n, device=module.device) % num_classes) if num_classes else None
                quality.update(module.sample(n, labels=labels, **options).float().clamp(0, 1), real=False)
        module.train(was_training)
        return quality.compute()

    def prepare(self, data, split: str, device, num_real: int | None, rank: int) -> ImageQuality:
        """The metric, its real side loaded from the cache or computed (on rank 0 only)."""
        if self.quality is None:
            name = self.extractor_name
            if name == "auto":
                name = "digit_classifier" if data.dims[0] == 1 else "inception"
            self.quality = ImageQuality(build_extractor(name, self.weights_path), kid=self.kid,
                                        inception_score=self.inception_score, seed=self.seed,
                                        manifold=self.manifold)
        quality = self.quality.to(device)
        request = (id(data), split, num_real)
        if request == self.real_request:  # the real side is in place: no reloading, no re-hashing
            return quality
        real = data.reference_images(split)
        count = len(real) if num_real is None else min(num_real, len(real))
        key = self.cache_key(data, split, real, count, quality.extractor.protocol)
        quality.reset_real()
        if rank != 0:
            quality.hold_no_real()
        else:
            path = self.cache_dir / f"{key}.safetensors"
            if not (path.is_file() and quality.load_real(path)):
                for images in batches_of(real, count, self.batch_size):
                    images = images.to(device)
                    images = images.float() / 255 if images.dtype == torch.uint8 else images.float()
                    quality.update(images.clamp(0, 1), real=True)
                quality.save_real(path, {"key": key, **quality.extractor.protocol, "count": count})
        self.real_key, self.real_request = key, request
        return quality

    @staticmethod
    def cache_key(data, split: str, real, count: int, protocol: dict) -> str:
        """Names the real side: the data set (its images when in memory, else its root), split, count, extractor."""
        digest = hashlib.sha256(json.dumps([type(data).__name__, split, list(data.dims), count, protocol],
                                           sort_keys=True).encode())
        tensors = getattr(real, "tensors", None)
        if tensors is not None:
            digest.update(tensors[0][:count].contiguous().numpy().tobytes())
        else:
            digest.update(str(Path(getattr(data, "root", "")).resolve()).encode())
        return f"{type(data).__name__.lower()}-{digest.hexdigest()[:16]}"


def batches_of(images, count: int, batch_size: int):
    """The first `count` images of a data set, in batches: sliced from memory, or through a DataLoader."""
    tensors = getattr(images, "tensors", None)
    if tensors is not None:
        for start in range(0, count, batch_size):
            yield tensors[0][start: min(start + batch_size, count)]
        return
    for batch, _ in DataLoader(Subset(images, range(count)), batch_size=batch_size):
        yield batch
