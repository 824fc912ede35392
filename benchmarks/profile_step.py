"""Where the time of one training step of the MLP VAE recipe goes, by operator: torch.profiler over the
Trainer's fast path (compile on, fused Adam) and its eager path, on MNIST batches. Writes the top operators
by self CPU time to benchmarks/results/profile_step.json.

    OMP_NUM_THREADS=1 python benchmarks/profile_step.py --root ../shared/data [--steps 50]
"""

import argparse
import json
from pathlib import Path

import lightning as L
import torch
from torch.profiler import ProfilerActivity, profile
from train_speed import eager_path, instantiate


class Profile(L.Callback):
    def __init__(self, warmup: int):
        self.warmup, self.profiler = warmup, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup:
            self.profiler = profile(activities=[ProfilerActivity.CPU])
            self.profiler.__enter__()

    def on_train_end(self, trainer, pl_module):
        self.profiler.__exit__(None, None, None)


def top_operators(model, datamodule, warmup: int, steps: int, rows: int = 15) -> dict:
    callback = Profile(warmup)
    L.Trainer(max_epochs=1, limit_train_batches=warmup + steps, limit_val_batches=0, num_sanity_val_steps=0,
              logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
              callbacks=[callback]).fit(model, datamodule)
    events = sorted(callback.profiler.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return {"ms_per_step_profiled": round(total / 1000 / steps, 3),
            "top": [{"op": e.key, "self_ms_per_step": round(e.self_cpu_time_total / 1000 / steps, 3),
                     "share": round(e.self_cpu_time_total / total, 4), "calls_per_step": e.count / steps}
                    for e in events[:rows]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipe", default="vae/mlp_mnist_elbo")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--out", default="benchmarks/results/profile_step.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    model, datamodule = instantiate(args.recipe, args.root)
    report = {"recipe": args.recipe, "threads": torch.get_num_threads(), "steps": args.steps,
              "fast": top_operators(model, datamodule, 20, args.steps),
              "eager": top_operators(eager_path(instantiate(args.recipe, args.root)[0]), datamodule, 20, args.steps)}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
