"""Cost of a VAEModule training step under the Lightning Trainer, against a hand-written PyTorch loop
on the same networks, data and number of steps, measured as a ratio in one run.

The hand-written loop computes the one-sample ELBO with plain tensor code (BCE-with-logits and the
closed-form Gaussian KL); the Trainer runs `VAEModule` as a user would, with its logging and (in the
"full" variant) a TensorBoard logger and progress bar. Runs alternate, and the median of the
per-round ratios is reported.

    python benchmarks/vae_step_cost.py --root ../shared/data [--steps 400] [--rounds 5]
"""

import argparse
import copy
import json
import statistics
import time
from functools import partial

import lightning as L
import torch
import torch.nn.functional as F

from zoo import VAEModule
from zoo.data import MNIST
from zoo.nets import MLPDecoder, MLPEncoder


def make_model() -> VAEModule:
    torch.manual_seed(0)
    return VAEModule(partial(MLPEncoder, hidden=[512, 512]), partial(MLPDecoder, hidden=[512, 512]), latent_dim=32)


def hand_written(model: VAEModule, datamodule: MNIST, steps: int) -> float:
    encoder, decoder = model.encoder, model.decoder
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    datamodule.trainer = type("T", (), {"training": True})()  # the same dynamic binarisation
    batches = iter(datamodule.train_dataloader())
    start = time.perf_counter()
    for _ in range(steps):
        x, _ = datamodule.on_after_batch_transfer(next(batches), 0)
        mu, log_var = encoder(x).chunk(2, dim=-1)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        logits = decoder(z)
        reconstruction = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
        kl = 0.5 * (log_var.exp() + mu**2 - 1 - log_var).sum(-1)
        loss = -(reconstruction - kl).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


class StepTimer(L.Callback):
    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def under_trainer(model: VAEModule, datamodule: MNIST, steps: int, full: bool, folder: str) -> float:
    timer = StepTimer()
    trainer = L.Trainer(max_steps=steps, limit_val_batches=0, num_sanity_val_steps=0, enable_checkpointing=False,
                        logger=full, enable_progress_bar=full, enable_model_summary=False, callbacks=[timer],
                        default_root_dir=folder)
    trainer.fit(model, datamodule)
    return timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", default="runs/benchmark_step_cost")
    args = parser.parse_args()
    datamodule = MNIST(root=args.root, binarize="dynamic", batch_size=128)
    datamodule.setup("fit")
    base = make_model()
    times = {"hand": [], "trainer_bare": [], "trainer_full": []}
    for _ in range(args.rounds):
        times["hand"].append(hand_written(copy.deepcopy(base), datamodule, args.steps))
        times["trainer_bare"].append(under_trainer(copy.deepcopy(base), datamodule, args.steps, False, args.folder))
        times["trainer_full"].append(under_trainer(copy.deepcopy(base), datamodule, args.steps, True, args.folder))
    ratios = {name: [t / h for t, h in zip(times[name], times["hand"], strict=True)]
              for name in ("trainer_bare", "trainer_full")}
    report = {
        "steps": args.steps, "rounds": args.rounds, "batch_size": 128, "torch_threads": torch.get_num_threads(),
        "hand_ms_per_step": round(1000 * statistics.median(times["hand"]) / args.steps, 2),
        **{f"ratio_{name}": round(statistics.median(values), 4) for name, values in ratios.items()},
        **{f"ratios_{name}": [round(r, 4) for r in values] for name, values in ratios.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
