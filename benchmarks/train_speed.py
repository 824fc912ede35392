"""Training speed of the MNIST recipes, milliseconds per step, measured side by side:
- `fit`: `lightning fit --config configs/<recipe>.yaml` as a user runs it (the recipe's fast path, progress bar,
  loggers, callbacks and checkpoints), in a fresh process; its cost per step is the difference of a fit of
  warmup + steps batches and one of warmup batches, so start-up and compilation cancel; beside it the median
  batch of the long fit (`fit_median_batch_ms`): the step alone, without the epoch ends' validation, image grids
  and checkpoints or the recompilation for an epoch's smaller last batch;
- `plain`: a plain eager PyTorch loop doing the same work (same networks, Adam with its default update, batch,
  objective and per-batch transform, fresh noise each step, the other player's weights frozen in each GAN step,
  the EMA update), its training split held as one tensor in memory and no DataLoader;
- `pythae`: pythae's VAE trainer step on the same networks, when pythae is installed (one-sample Bernoulli VAEs).
Each is measured at torch's default thread count (all cores) and at one thread; the variants rotate within each
round. JSON goes to benchmarks/results/train_speed.json.

    python benchmarks/train_speed.py --root ../shared/data [--recipes vae/mlp_mnist_elbo ...] [--threads default 1]
"""

import argparse
import copy
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
import yaml
from lightning.pytorch.cli import instantiate_class

from zoo.distributions import BernoulliLikelihood
from zoo.factories import build
from zoo.modules.gan_losses import discriminator_loss, generator_loss, gradient_penalty

RECIPES = ["vae/mlp_mnist_elbo", "vae/mlp_mnist", "vae/conv_mnist_gaussian", "gan/dcgan_mnist"]


def instantiate(recipe: str, root: str):
    """The recipe's model and data module (the modules take their networks and optimizers as configs)."""
    config = yaml.safe_load(Path(f"configs/{recipe}.yaml").read_text())
    data = {**config["data"], "init_args": {**config["data"]["init_args"], "root": root, "download": False}}
    datamodule = instantiate_class((), data)
    init_args = {name: {"class_path": value} if isinstance(value, str) and "." in value else value
                 for name, value in config["model"]["init_args"].items()}  # `likelihood: zoo.distributions.X`
    model = {**config["model"], "init_args": {**init_args, "image_shape": datamodule.dims}}
    return instantiate_class((), model), datamodule


def eager_optimizer(config: dict) -> dict:
    """An optimizer config without the fast path's `fused: true`."""
    return {**config, "init_args": {k: v for k, v in config.get("init_args", {}).items() if k != "fused"}}


def eager_path(model):
    """A copy of the model on the eager path: no torch.compile, Adam's default (foreach) update."""
    model = copy.deepcopy(model)
    model.hparams.compile = False
    for name in ("optimizer", "generator_optimizer", "discriminator_optimizer"):
        if name in model.hparams:
            model.hparams[name] = eager_optimizer(model.hparams[name])
    return model


# --- the hand-written loops ------------------------------------------------------------------------------------
def vae_step_fn(model):
    hp, encoder, decoder = model.hparams, model.encoder, model.decoder
    optimizer = build(eager_optimizer(hp.optimizer), model.parameters())
    bernoulli = isinstance(model.likelihood, BernoulliLikelihood)
    k, latent, bound = model.objective.num_samples, hp.latent_dim, model.objective.bound

    def step(batch):
        x, y = batch
        labels = y if hp.num_classes else None
        mu, log_var = encoder(x, labels).chunk(2, dim=-1)
        std = (0.5 * log_var).exp()
        eps = torch.randn(k, *mu.shape)
        z = mu + eps * std  # (k, B, L)
        out = decoder(z.reshape(-1, latent), labels.repeat(k) if labels is not None else None).view(k, len(x), -1)
        target = x.flatten(1).expand_as(out)
        if bernoulli:
            log_px = -F.binary_cross_entropy_with_logits(out, target, reduction="none").sum(-1)
        else:
            sigma = model.likelihood.sigma
            log_px = (-0.5 * ((target - out) / sigma) ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        if bound == "iwae":
            log_w = log_px - 0.5 * (z**2).sum(-1) + 0.5 * (eps**2).sum(-1) + std.log().sum(-1)  # log 2pi cancels
            loss = -(torch.logsumexp(log_w, 0) - math.log(k)).mean()
        else:
            kl = 0.5 * (std**2 + mu**2 - 1 - log_var).sum(-1)
            loss = -(log_px.mean(0) - kl).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def gan_step_fn(model):
    hp, generator, discriminator = model.hparams, model.generator, model.discriminator
    d_optimizer = build(eager_optimizer(hp.discriminator_optimizer), discriminator.parameters())
    g_optimizer = build(eager_optimizer(hp.generator_optimizer), generator.parameters())
    ema = [p.detach().clone() for p in generator.parameters()] if hp.ema_decay else None
    steps = [0]

    def D(x, labels):
        return discriminator(x, labels).squeeze(-1)

    def G(z, labels):
        return torch.sigmoid(generator(z, labels))

    def step(batch):
        real, y = batch
        labels = y if hp.num_classes else None
        discriminator.requires_grad_(True), generator.requires_grad_(False)
        fake = G(torch.randn(len(real), hp.latent_dim), labels).detach()
        objective = model.objective
        d_loss = discriminator_loss(D(real, labels), D(fake, labels), objective.loss)
        if objective.gradient_penalty:
            d_loss = d_loss + objective.gradient_penalty * gradient_penalty(D, real, fake, labels)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        steps[0] += 1
        if steps[0] % objective.n_critic == 0:
            discriminator.requires_grad_(False), generator.requires_grad_(True)
            g_loss = generator_loss(D(G(torch.randn(len(real), hp.latent_dim), labels), labels), objective.loss)
            g_optimizer.zero_grad(set_to_none=True)
            g_loss.backward()
            g_optimizer.step()
            if ema is not None:
                torch._foreach_lerp_(ema, [p.detach() for p in generator.parameters()], 1 - hp.ema_decay)

    return step


def hand_step_fn(model):
    return vae_step_fn(model) if hasattr(model, "encoder") else gan_step_fn(model)


def memory_batches(datamodule, generator: torch.Generator):
    """Training batches from the training split held as one tensor in memory: a fresh permutation each epoch,
    each batch one indexing operation, then the data module's own per-batch transform (scaling, dynamic
    binarisation), so the numbers are the same as the fit's. No DataLoader."""
    datamodule.trainer = type("T", (), {"training": True})()
    subset = datamodule.train_set
    images, labels = subset.dataset.tensors
    index = torch.as_tensor(subset.indices, dtype=torch.long)
    images, labels = images[index], labels[index]
    size = datamodule.batch_size
    while True:
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(order) - size + 1, size):
            chosen = order[start: start + size]
            yield datamodule.on_after_batch_transfer((images[chosen], labels[chosen]), 0)


def time_steps(step, batches, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        step(next(batches))
    start = time.perf_counter()
    for _ in range(steps):
        step(next(batches))
    return time.perf_counter() - start


class BatchTimes(L.Callback):
    """Writes the seconds between consecutive training batch starts to `out` (JSON) when training ends: their
    median is the fit's step without start-up, compilation and epoch ends."""

    def __init__(self, out: str):
        self.out, self.starts = out, []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.starts.append(time.perf_counter())

    def on_train_end(self, trainer, pl_module):
        Path(self.out).write_text(json.dumps([b - a for a, b in itertools.pairwise(self.starts)]))


def batch_times(run_dir: str) -> tuple[str, ...]:
    """`lightning fit` arguments adding BatchTimes, writing to <run_dir>/batch_times.json."""
    return ("--trainer.callbacks+=train_speed.BatchTimes", "--trainer.callbacks.out", f"{run_dir}/batch_times.json")


def time_cli(recipe: str, root: str, batches: int, run_dir: str, extra: tuple[str, ...] = ()) -> float:
    """Wall seconds of `lightning fit --config configs/<recipe>.yaml` for `batches` training batches (across epochs,
    validating after each as the recipe does), run as a user runs it, in a fresh process (so the command sets up
    its threads itself: the denormal mode its thread pool inherits, zoo.cli.denormals) with the user's defaults
    (progress bar, loggers, callbacks, checkpoints), start-up included: the difference of two lengths gives the cost
    of a step, at this process's torch thread count. The GAN recipes measured here take one D and one G step a
    batch (n_critic 1)."""
    optimizer_steps = batches * (2 if recipe.startswith("gan/") else 1)  # a GAN batch: one D and one G step
    args = ["fit", "--config", f"configs/{recipe}.yaml", "--data.root", root, "--data.download", "false",
            "--trainer.max_epochs", "-1", "--trainer.max_time", "null", "--trainer.max_steps", str(optimizer_steps),
            "--trainer.default_root_dir", run_dir, "--seed_everything", "0", *extra]
    here = str(Path(__file__).resolve().parent)  # for --trainer.callbacks+=train_speed.BatchTimes
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()),
           "PYTHONPATH": os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])])}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zoo", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def fit_batch_seconds(recipe: str, root: str, batches: int, run_dir: str, extra: tuple[str, ...] = ()) -> list[float]:
    """The seconds of each training batch of time_cli's fit, with `extra` arguments."""
    time_cli(recipe, root, batches, run_dir, (*extra, *batch_times(run_dir)))
    return json.loads(Path(run_dir, "batch_times.json").read_text())


def median_batch_arguments(description: str, recipes: list[str], batches: list[int], rounds: int, out: str):
    """The command line of a benchmark comparing fits by their median batch (precision_speed.py,
    memory_format_speed.py), parsed, torch's threads set from it."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipes", nargs="+", default=recipes)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--batches", type=int, nargs="+", default=batches, help="training batches a fit, per recipe")
    parser.add_argument("--skip", type=int, default=10, help="first batches left out of the median")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--out", default=out)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def pythae_step_fn(model):
    """pythae's VAE trainer on the same networks (wrapped as its BaseEncoder / BaseDecoder), Adam, the same batch;
    None when pythae is not installed or the recipe is not a one-sample Bernoulli ELBO VAE."""
    try:
        from pythae.models import VAE, VAEConfig
        from pythae.models.base.base_utils import ModelOutput
        from pythae.models.nn import BaseDecoder, BaseEncoder
    except ImportError:
        return None
    hp = model.hparams
    if not hasattr(model, "encoder") or model.objective.bound != "elbo" or hp.num_classes or \
            not isinstance(model.likelihood, BernoulliLikelihood):
        return None

    class Encoder(BaseEncoder):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            mu, log_var = self.net(x).chunk(2, dim=-1)
            return ModelOutput(embedding=mu, log_covariance=log_var)

    class Decoder(BaseDecoder):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)).view(len(z), *hp.image_shape))

    config = VAEConfig(input_dim=tuple(hp.image_shape), latent_dim=hp.latent_dim, reconstruction_loss="bce")
    vae = VAE(config, encoder=Encoder(model.encoder), decoder=Decoder(model.decoder))
    optimizer = torch.optim.Adam(vae.parameters(), lr=hp.optimizer["init_args"]["lr"])

    def step(batch):  # pythae.trainers.BaseTrainer.train_step's body: forward, backward, step
        x, _ = batch
        loss = vae({"data": x}, epoch=0, dataset_size=len(x)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def measure(recipe: str, root: str, warmup: int, steps: int, rounds: int, threads: int,
            fit_args: tuple[str, ...] = ()) -> dict:
    """Seconds per training step (one batch: one VAE update, or one D and one G update) of each variant, at
    `threads` threads; the variants rotate within each round so machine load falls on all alike."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    base, datamodule = instantiate(recipe, root)
    datamodule.setup("fit")
    batches = memory_batches(datamodule, torch.Generator().manual_seed(0))
    short, long = warmup, warmup + steps
    variants = ["fit", "plain"] + (["pythae"] if pythae_step_fn(copy.deepcopy(base)) else [])
    seconds = {name: [] for name in variants}
    fit_median_batch = []  # the long fit's median batch, epoch ends and compilation left out
    with tempfile.TemporaryDirectory() as run_dir:
        # untimed, as long as the long fit: it fills the compile cache with every graph the timed fits meet (the
        # epoch's smaller last batch included, which a first long fit would otherwise compile inside its time)
        time_cli(recipe, root, long, run_dir, fit_args)
        for r in range(rounds):
            for name in variants[r % len(variants):] + variants[: r % len(variants)]:
                if name == "fit":
                    seconds[name].append(time_cli(recipe, root, long, run_dir, fit_args + batch_times(run_dir)) -
                                        time_cli(recipe, root, short, run_dir, fit_args))
                    batches_of_long_fit = json.loads(Path(run_dir, "batch_times.json").read_text())[warmup:]
                    fit_median_batch.append(statistics.median(batches_of_long_fit))
                elif name == "plain":
                    seconds[name].append(time_steps(hand_step_fn(copy.deepcopy(base)), batches, warmup, steps))
                else:
                    step = pythae_step_fn(copy.deepcopy(base))
                    seconds[name].append(time_steps(step, batches, warmup, steps))
            print(recipe, threads, "threads, round", r, {k: round(v[-1], 2) for k, v in seconds.items()}, flush=True)
    median = {name: statistics.median(values) / steps for name, values in seconds.items()}
    result = {"recipe": recipe, "threads": threads, "fit_args": list(fit_args), "batch_size": datamodule.batch_size,
              "timed_steps": steps,
              "warmup_steps": warmup, "rounds": rounds,
              **{f"{name}_ms_per_step": round(1000 * value, 2) for name, value in median.items()},
              **{f"{name}_seconds": [round(s, 3) for s in values] for name, values in seconds.items()},
              "fit_median_batch_ms": round(1000 * statistics.median(fit_median_batch), 2),
              "fit_median_batch_ms_rounds": [round(1000 * s, 2) for s in fit_median_batch],
              "fit_vs_plain": round(median["plain"] / median["fit"], 3),
              "fit_median_batch_vs_plain": round(median["plain"] / statistics.median(fit_median_batch), 3)}
    if "pythae" in median:
        result["fit_vs_pythae"] = round(median["pythae"] / median["fit"], 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipes", nargs="+", default=RECIPES)
    parser.add_argument("--threads", nargs="+", default=["default", "1"],
                        help="thread counts to measure at; `default` is torch's own choice (all cores)")
    parser.add_argument("--warmup", type=int, default=200, help="steps of the short fit, and untimed steps of the "
                                                                "loops (compilation happens here)")
    parser.add_argument("--steps", type=int, default=1200, help="timed steps: the long fit runs warmup + steps")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fit-args", nargs="*", default=[], help="more `lightning fit` arguments for the fit, e.g. "
                        "--trainer.enable_progress_bar false, to find where its time goes")
    parser.add_argument("--out", default="benchmarks/results/train_speed.json")
    args = parser.parse_args()
    out = Path(args.out)
    report = json.loads(out.read_text()) if out.is_file() else {}
    default_threads = torch.get_num_threads()
    for recipe in args.recipes:
        for threads in args.threads:
            count = default_threads if threads == "default" else int(threads)
            result = measure(recipe, args.root, args.warmup, args.steps, args.rounds, count, tuple(args.fit_args))
            result["torch"] = torch.__version__
            report[" ".join([f"{recipe} threads={threads}", *args.fit_args])] = result
            print(json.dumps(result), flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
