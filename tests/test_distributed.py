"""Both modules under DDP on CPU (gloo, 2 processes): identical parameters on both ranks, logged metrics
reduced across ranks, image grids drawn once, and rank 0's checkpoint loading in a single process."""

import json
from functools import partial
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.strategies import DDPStrategy

from zoo import GANModule, VAEModule
from zoo.callbacks import ImageGrids
from zoo.data import Digits
from zoo.nets import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder


class RankReport(L.Callback):
    def __init__(self, folder: str, metric: str):
        self.folder, self.metric = folder, metric

    def on_train_end(self, trainer, pl_module):
        flat = torch.cat([p.detach().double().flatten() for p in pl_module.parameters()])
        report = {"parameters": [float(flat.sum()), float(flat.abs().sum()), float(flat[:5].sum())],
                  "metric": float(trainer.callback_metrics[self.metric]), "world_size": trainer.world_size}
        Path(self.folder, f"rank{trainer.global_rank}.json").write_text(json.dumps(report))


class MarkingImageGrids(ImageGrids):
    def grids(self, module):
        Path(self.folder, f"grids_rank{module.global_rank}").touch()
        return super().grids(module)


def run_ddp(module, metric, tmp_path, find_unused: bool):
    grids = MarkingImageGrids()
    grids.folder = str(tmp_path)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "checkpoints", save_last=True)
    trainer = L.Trainer(accelerator="cpu", devices=2, max_epochs=1, limit_train_batches=4, limit_val_batches=3,
                        strategy=DDPStrategy(start_method="spawn", find_unused_parameters=find_unused),
                        callbacks=[checkpoint, grids, RankReport(str(tmp_path), metric)], logger=False,
                        enable_progress_bar=False, default_root_dir=tmp_path)
    trainer.fit(module, Digits(batch_size=16, val_size=96))
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["world_size"] == 2
    assert ranks[0]["parameters"] == ranks[1]["parameters"]  # the same weights on both ranks
    assert ranks[0]["metric"] == ranks[1]["metric"]  # reduced across ranks, not each rank's own shard
    assert sorted(p.name for p in tmp_path.glob("grids_rank*")) == ["grids_rank0"]
    return ranks[0], tmp_path / "checkpoints" / "last.ckpt"


def test_vae_trains_under_ddp(tmp_path, capfd):
    vae = VAEModule(partial(MLPEncoder, hidden=[32]), partial(MLPDecoder, hidden=[32]), latent_dim=4)
    rank0, last = run_ddp(vae, "val/elbo", tmp_path, find_unused=False)
    # the per-dimension metrics are reduced before they are logged: no advice to add sync_dist (was one per dimension)
    assert "It is recommended to use `self.log(" not in capfd.readouterr().err
    loaded = VAEModule.load_from_checkpoint(last, weights_only=True)
    flat = torch.cat([p.detach().double().flatten() for p in loaded.parameters()])
    assert float(flat.sum()) == pytest.approx(rank0["parameters"][0], rel=1e-12)


def test_gan_trains_under_ddp_with_find_unused_parameters(tmp_path, capfd):
    gan = GANModule(partial(ConvDecoder, base_channels=8), partial(ConvEncoder, base_channels=8), latent_dim=8,
                    ema_decay=0.9)
    rank0, last = run_ddp(gan, "val/d_loss", tmp_path, find_unused=True)
    assert "It is recommended to use `self.log(" not in capfd.readouterr().err
    loaded = GANModule.load_from_checkpoint(last, weights_only=True)
    flat = torch.cat([p.detach().double().flatten() for p in loaded.parameters()])
    assert float(flat.sum()) == pytest.approx(rank0["parameters"][0], rel=1e-12)
    assert int(loaded.generator_iterations) == 4
