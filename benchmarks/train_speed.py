"""Training speed of the MNIST recipes, measured side by side in one run, in images/s:
- `fit_fast`: `lightning fit` on the recipe's fast path (`compile: true` for the VAEs, Adam's fused update);
- `fit_eager`: `lightning fit` on the eager path (no compile, Adam's default update);
- `hand_eager`: a hand-written eager PyTorch loop doing the same work (same networks, optimizer, batch size and
  objective, fresh noise each step, the other player's weights frozen in each GAN step, the EMA update).
Also the FLOP rate each achieves against a probe that replays, alone, the very matrix multiplies and
convolutions of one training step (same ops, same shapes).

Variants and the probe rotate within each round, so machine load falls on all of them alike. JSON goes to
benchmarks/results/train_speed.json.

    OMP_NUM_THREADS=1 python benchmarks/train_speed.py --root ../shared/data [--recipes vae/mlp_mnist_elbo ...]
"""

import argparse
import copy
import json
import math
import statistics
import time
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
import yaml
from lightning.pytorch.cli import instantiate_class
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map
from torch.utils.flop_counter import flop_registry

from zoo.distributions import BernoulliLikelihood
from zoo.factories import build
from zoo.losses import discriminator_loss, generator_loss, gradient_penalty

RECIPES = ["vae/mlp_mnist_elbo", "vae/mlp_mnist", "vae/conv_mnist_gaussian", "gan/dcgan_mnist",
           "gan/wgan_gp_mnist", "gan/hinge_sn_mnist", "gan/cgan_mnist"]
aten = torch.ops.aten
FLOP_OPS = {aten.mm.default, aten.addmm.default, aten.bmm.default, aten.convolution.default,
            aten.convolution_backward.default}


def instantiate(recipe: str, root: str):
    """The recipe's model and data module (the modules take their networks and optimizers as configs)."""
    config = yaml.safe_load(Path(f"configs/{recipe}.yaml").read_text())
    data = {**config["data"], "init_args": {**config["data"]["init_args"], "root": root, "download": False}}
    datamodule = instantiate_class((), data)
    init_args = {name: {"class_path": value} if isinstance(value, str) and "." in value else value
                 for name, value in config["model"]["init_args"].items()}  # `likelihood: zoo.distributions.X`
    model = {**config["model"], "init_args": {**init_args, "image_shape": datamodule.dims}}
    return instantiate_class((), model), datamodule


def endless_batches(datamodule):
    """Training batches as the Trainer gives them (scaled, binarised), epoch after epoch."""
    datamodule.trainer = type("T", (), {"training": True})()
    while True:
        for batch in datamodule.train_dataloader():
            yield datamodule.on_after_batch_transfer(batch, 0)


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
    k, latent = hp.num_samples, hp.latent_dim

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
        if hp.objective == "iwae":
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
        d_loss = discriminator_loss(D(real, labels), D(fake, labels), hp.objective)
        if hp.gradient_penalty:
            d_loss = d_loss + hp.gradient_penalty * gradient_penalty(D, real, fake, labels)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        steps[0] += 1
        if steps[0] % hp.n_critic == 0:
            discriminator.requires_grad_(False), generator.requires_grad_(True)
            g_loss = generator_loss(D(G(torch.randn(len(real), hp.latent_dim), labels), labels), hp.objective)
            g_optimizer.zero_grad(set_to_none=True)
            g_loss.backward()
            g_optimizer.step()
            if ema is not None:
                torch._foreach_lerp_(ema, [p.detach() for p in generator.parameters()], 1 - hp.ema_decay)

    return step


def hand_step_fn(model):
    return vae_step_fn(model) if hasattr(model, "encoder") else gan_step_fn(model)


def time_hand(model, batches, warmup: int, steps: int) -> float:
    step = hand_step_fn(model)
    for _ in range(warmup):
        step(next(batches))
    start = time.perf_counter()
    for _ in range(steps):
        step(next(batches))
    return time.perf_counter() - start


class BatchTimer(L.Callback):
    def __init__(self, warmup: int):
        self.warmup = warmup

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        self.seconds = time.perf_counter() - self.start


def time_fit(model, datamodule, warmup: int, steps: int) -> float:
    timer = BatchTimer(warmup)
    trainer = L.Trainer(max_epochs=1, limit_train_batches=warmup + steps, limit_val_batches=0,
                        num_sanity_val_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[timer])
    trainer.fit(model, datamodule)
    return timer.seconds


# --- FLOPs and the probe ---------------------------------------------------------------------------------------
class RecordFlopOps(TorchDispatchMode):
    """Records the matrix multiplies and convolutions of a computation with fresh inputs of the same shapes, and
    counts its FLOPs with FlopCounterMode's formulas (FlopCounterMode itself tracks modules with backward hooks,
    which fail under the double backward of a gradient penalty)."""

    def __init__(self):
        super().__init__()
        self.calls, self.flops = [], 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FLOP_OPS:
            fresh = tree_map(lambda a: torch.randn_like(a) if isinstance(a, torch.Tensor) else a, (args, kwargs))
            self.calls.append((func, *fresh))
        out = func(*args, **kwargs)
        if func.overloadpacket in flop_registry:
            self.flops += flop_registry[func.overloadpacket](*args, **kwargs, out_val=out)
        return out


def step_flops_and_probe(model, batches):
    """FLOPs of one training step, and the recorded matrix-multiply/convolution calls of that step."""
    step = hand_step_fn(copy.deepcopy(model))
    batch = next(batches)
    step(batch)  # optimizer state exists before counting
    with RecordFlopOps() as recorder:
        step(batch)
    return recorder.flops, recorder.calls


def time_probe(calls, repeats: int) -> float:
    """Seconds per step of the recorded calls alone."""
    with torch.no_grad():
        for func, args, kwargs in calls:
            func(*args, **kwargs)
        start = time.perf_counter()
        for _ in range(repeats):
            for func, args, kwargs in calls:
                func(*args, **kwargs)
    return (time.perf_counter() - start) / repeats


def measure(recipe: str, root: str, warmup: int, steps: int, rounds: int) -> dict:
    torch.manual_seed(0)
    base, datamodule = instantiate(recipe, root)
    datamodule.setup("fit")
    batch_size = datamodule.batch_size
    batches = endless_batches(copy.deepcopy(datamodule))
    flops, calls = step_flops_and_probe(base, batches)
    seconds = {"fit_fast": [], "fit_eager": [], "hand_eager": [], "probe": []}
    variants = list(seconds)
    for r in range(rounds):
        for name in variants[r % 4:] + variants[: r % 4]:  # the order rotates between rounds
            if name == "probe":
                seconds[name].append(time_probe(calls, steps) * steps)
            elif name == "hand_eager":
                seconds[name].append(time_hand(copy.deepcopy(base), batches, warmup, steps))
            else:
                model = copy.deepcopy(base) if name == "fit_fast" else eager_path(base)
                seconds[name].append(time_fit(model, datamodule, warmup, steps))
        print(recipe, "round", r, {k: round(v[-1], 2) for k, v in seconds.items()}, flush=True)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    probe_rate = flops * steps / median["probe"]
    result = {"recipe": recipe, "batch_size": batch_size, "steps_per_round": steps, "warmup_steps": warmup,
              "rounds": rounds, "flops_per_step": flops, "probe_gflops": round(probe_rate / 1e9, 2)}
    for name in ("fit_fast", "fit_eager", "hand_eager"):
        result[f"{name}_images_per_s"] = round(steps * batch_size / median[name], 1)
        result[f"{name}_gflops"] = round(flops * steps / median[name] / 1e9, 2)
        result[f"{name}_fraction_of_probe"] = round(flops * steps / median[name] / probe_rate, 3)
        result[f"{name}_seconds"] = [round(s, 3) for s in seconds[name]]
    result["fast_vs_hand"] = round(median["hand_eager"] / median["fit_fast"], 3)
    result["fast_vs_eager_fit"] = round(median["fit_eager"] / median["fit_fast"], 3)
    result["eager_fit_vs_hand"] = round(median["hand_eager"] / median["fit_eager"], 3)
    result["probe_seconds"] = [round(s, 3) for s in seconds["probe"]]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipes", nargs="+", default=RECIPES)
    parser.add_argument("--warmup", type=int, default=20, help="batches before timing (compilation happens here)")
    parser.add_argument("--steps", type=int, default=100, help="timed batches per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/train_speed.json")
    args = parser.parse_args()
    out = Path(args.out)
    report = json.loads(out.read_text()) if out.is_file() else {}
    for recipe in args.recipes:
        result = measure(recipe, args.root, args.warmup, args.steps, args.rounds)
        result["torch"], result["threads"] = torch.__version__, torch.get_num_threads()
        report[recipe] = result
        print(json.dumps(result), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
