"""Cost of a training step of VAEModule or GANModule under the Lightning Trainer, against a hand-written
PyTorch loop on the same networks, data and number of steps, as a ratio measured in one run.

- vae: the MLP VAE of configs/vae/mlp_mnist_elbo.yaml on dynamically binarised MNIST; the hand-written
  loop computes the one-sample ELBO with plain tensor code (BCE-with-logits, closed-form Gaussian KL).
- gan: DCGAN (64 base channels, as the shipped dcgan.mnist; no EMA) on MNIST; the hand-written loop does the
  module's work: a discriminator step on a detached fake batch, then a generator step on a fresh z with a
  second generator forward, each with the other player's weights frozen (`requires_grad_(False)`, as
  Lightning's `toggle_optimizer` does), so neither step computes the other player's weight gradients.

The Trainer runs the module as a user would, with its own logging; "bare" has no logger and no progress
bar, "full" adds the default TensorBoard logger and the progress bar. The three run in turn for several
rounds, the order rotating from round to round so that none always runs first (or after the same one),
and the median per-round ratio is reported. The report goes to benchmarks/results/step_cost_<model>.json.

    python benchmarks/step_cost.py vae --root ../shared/data [--steps 300] [--rounds 5]
    python benchmarks/step_cost.py gan --root ../shared/data [--steps 100] [--rounds 5]
"""

import argparse
import copy
import json
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F

from zoo import GANModule, VAEModule
from zoo.data import MNIST
from zoo.nets import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder


def make_vae() -> VAEModule:
    return VAEModule(partial(MLPEncoder, hidden=[512, 512]), partial(MLPDecoder, hidden=[512, 512]), latent_dim=32)


def make_gan() -> GANModule:
    adam = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999))
    return GANModule(partial(ConvDecoder, base_channels=64), partial(ConvEncoder, base_channels=64),
                     latent_dim=100, generator_optimizer=adam, discriminator_optimizer=adam)


def vae_loop(model: VAEModule, batches, steps: int) -> None:
    encoder, decoder = model.encoder, model.decoder
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        x, _ = next(batches)
        mu, log_var = encoder(x).chunk(2, dim=-1)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        reconstruction = -F.binary_cross_entropy_with_logits(decoder(z), x, reduction="none").sum((1, 2, 3))
        kl = 0.5 * (log_var.exp() + mu**2 - 1 - log_var).sum(-1)
        loss = -(reconstruction - kl).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def gan_loop(model: GANModule, batches, steps: int) -> None:
    generator, discriminator = model.generator, model.discriminator
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for _ in range(steps // 2):  # one optimizer step of each player per batch
        real, _ = next(batches)
        generator.requires_grad_(False)
        discriminator.requires_grad_(True)
        fake = torch.sigmoid(generator(torch.randn(len(real), 100)))
        d_loss = F.softplus(-discriminator(real)).mean() + F.softplus(discriminator(fake)).mean()
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        generator.requires_grad_(True)
        discriminator.requires_grad_(False)
        fake = torch.sigmoid(generator(torch.randn(len(real), 100)))
        g_loss = F.softplus(-discriminator(fake)).mean()
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()


def hand_written(kind: str, model, datamodule: MNIST, steps: int) -> float:
    datamodule.trainer = type("T", (), {"training": True})()  # the same scaling and binarisation
    batches = (datamodule.on_after_batch_transfer(batch, 0)
               for _ in range(10**6) for batch in datamodule.train_dataloader())  # epoch after epoch
    start = time.perf_counter()
    (vae_loop if kind == "vae" else gan_loop)(model, batches, steps)
    return time.perf_counter() - start


class StepTimer(L.Callback):
    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def under_trainer(model, datamodule: MNIST, steps: int, full: bool, folder: str) -> float:
    timer = StepTimer()
    trainer = L.Trainer(max_steps=steps, limit_val_batches=0, num_sanity_val_steps=0, enable_checkpointing=False,
                        logger=full, enable_progress_bar=full, enable_model_summary=False, callbacks=[timer],
                        default_root_dir=folder)
    trainer.fit(model, datamodule)
    return timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=["vae", "gan"])
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (a GAN batch takes two)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", default="runs/benchmark_step_cost")
    parser.add_argument("--output", default=None, help="default: benchmarks/results/step_cost_<model>.json")
    args = parser.parse_args()
    steps = args.steps or (300 if args.model == "vae" else 100)
    datamodule = MNIST(root=args.root, binarize="dynamic" if args.model == "vae" else "none", batch_size=128)
    datamodule.setup("fit")
    torch.manual_seed(0)
    base = make_vae() if args.model == "vae" else make_gan()
    variants = {
        "hand": lambda: hand_written(args.model, copy.deepcopy(base), datamodule, steps),
        "trainer_bare": lambda: under_trainer(copy.deepcopy(base), datamodule, steps, False, args.folder),
        "trainer_full": lambda: under_trainer(copy.deepcopy(base), datamodule, steps, True, args.folder),
    }
    names = list(variants)
    times, orders = {name: [] for name in names}, []
    for round_ in range(args.rounds):
        order = names[round_ % len(names):] + names[: round_ % len(names)]  # rotate: each runs first in turn
        orders.append(order)
        for name in order:
            times[name].append(variants[name]())
    ratios = {name: [t / h for t, h in zip(times[name], times["hand"], strict=True)]
              for name in ("trainer_bare", "trainer_full")}
    report = {
        "command": "python " + " ".join(sys.argv),
        "model": args.model, "optimizer_steps": steps, "rounds": args.rounds, "batch_size": 128,
        "torch_threads": torch.get_num_threads(), "orders": orders,
        "hand_ms_per_optimizer_step": round(1000 * statistics.median(times["hand"]) / steps, 2),
        **{f"ratio_{name}": round(statistics.median(values), 4) for name, values in ratios.items()},
        **{f"ratios_{name}": [round(r, 4) for r in values] for name, values in ratios.items()},
        **{f"ratios_{name}_min_max": [round(min(values), 2), round(max(values), 2)] for name, values in ratios.items()},
        "seconds": {name: [round(t, 3) for t in values] for name, values in times.items()},
    }
    print(json.dumps(report, indent=2))
    path = Path(args.output or f"benchmarks/results/step_cost_{args.model}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
