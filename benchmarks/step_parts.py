"""Where `lightning fit`'s VAE step loses to a plain loop: the same in-memory batches (train_speed.memory_batches)
through the parts of the fit's step without the Trainer, milliseconds per step:

- `hand_eager`: train_speed's hand-written loop (plain tensor ELBO, Adam's default update);
- `module_eager_foreach` / `module_eager_fused`: VAEModule.step (the zoo's loss) + backward + Adam, foreach or fused;
- `module_compiled_fused`: the same with the loss compiled as the recipe's fast path does (CompiledOrEager).

Set beside train_speed.py's `fit` figure at the same threads, the difference is what the Trainer's loop, the data
loader, validation, logging and checkpoints add. The variants rotate within each round. JSON goes to
benchmarks/results/step_parts.json.

    python benchmarks/step_parts.py --root ../shared/data [--threads default 1] [--recipe vae/mlp_mnist_elbo]
        [--flush-denormals --out benchmarks/results/step_parts_flushed.json]
"""

import argparse
import copy
import json
import statistics
from pathlib import Path

import torch
import train_speed

from zoo.factories import build
from zoo.modules.compile import CompiledOrEager


def module_step(base, compiled: bool, fused: bool):
    model = copy.deepcopy(base).train()
    config = train_speed.eager_optimizer(model.hparams.optimizer)  # the recipe's optimizer, fused or not
    config["init_args"]["fused"] = fused
    optimizer = build(config, model.parameters())
    loss_of = CompiledOrEager(model.step, "VAEModule.step") if compiled else model.step
    beta = torch.tensor(1.0)

    def step(batch):
        loss = loss_of(batch, beta)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def measure(recipe: str, root: str, threads: int, warmup: int, steps: int, rounds: int) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    base, datamodule = train_speed.instantiate(recipe, root)
    datamodule.setup("fit")
    batches = train_speed.memory_batches(datamodule, torch.Generator().manual_seed(0))
    variants = {"hand_eager": lambda: train_speed.vae_step_fn(copy.deepcopy(base)),
                "module_eager_foreach": lambda: module_step(base, compiled=False, fused=False),
                "module_eager_fused": lambda: module_step(base, compiled=False, fused=True),
                "module_compiled_fused": lambda: module_step(base, compiled=True, fused=True)}
    names, ms = list(variants), {name: [] for name in variants}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            ms[name].append(1000 * train_speed.time_steps(variants[name](), batches, warmup, steps) / steps)
        print(recipe, threads, "threads, round", r, {k: round(v[-1], 2) for k, v in ms.items()}, flush=True)
    return {"recipe": recipe, "threads": threads, "warmup_steps": warmup, "timed_steps": steps, "rounds": rounds,
            "torch": torch.__version__, **{f"{k}_ms_per_step": round(statistics.median(v), 2) for k, v in ms.items()},
            **{f"{k}_ms": [round(x, 2) for x in v] for k, v in ms.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipe", default="vae/mlp_mnist_elbo")
    parser.add_argument("--threads", nargs="+", default=["default", "1"])
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flush-denormals", action="store_true",
                        help="flush denormals to zero first, as `lightning` commands do (zoo/cli/denormals.py)")
    parser.add_argument("--out", default="benchmarks/results/step_parts.json")
    args = parser.parse_args()
    if args.flush_denormals:
        torch.set_flush_denormal(True)  # before any parallel op, so that OpenMP's threads inherit it
    default_threads = torch.get_num_threads()
    report = {}
    for threads in args.threads:
        count = default_threads if threads == "default" else int(threads)
        report[f"{args.recipe} threads={threads}"] = measure(args.recipe, args.root, count, args.warmup, args.steps,
                                                             args.rounds)
        print(json.dumps(report[f"{args.recipe} threads={threads}"]), flush=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
