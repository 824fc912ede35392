"""The conv recipes' training step with and without zoo.callbacks.ChannelsLast (the trained convolution weights in
channels-last order while training):
- `fit`: `lightning fit --config configs/<recipe>.yaml` run in this process as a user runs it, with the trainer
  defaults' callbacks less ChannelsLast and with them and ChannelsLast. A callback records the wall time of every
  training batch (one VAE update, or one D and one G update); the figure is the median after `--skip` batches, so
  start-up and epoch ends stay out of it;
- `plain`: train_speed.py's plain eager loop of the same step, its networks' weights contiguous or channels-last,
  milliseconds a step over the same number of batches.
The four alternate within each round. JSON goes to benchmarks/results/memory_format_speed.json.

    python benchmarks/memory_format_speed.py --root ../shared/data [--recipes vae/conv_mnist_gaussian gan/dcgan_mnist]
        [--threads 1]
"""

import copy
import json
import statistics
import tempfile
from pathlib import Path

import torch
import yaml
from train_speed import fit_batch_seconds, hand_step_fn, instantiate, median_batch_arguments, memory_batches, time_steps

from zoo.hub.recipes import TRAINER_DEFAULTS


def callbacks(channels_last: bool) -> tuple[str, ...]:
    """`lightning fit` arguments that set the trainer defaults' callbacks, with or without ChannelsLast."""
    defaults = yaml.safe_load(Path(TRAINER_DEFAULTS).read_text())["trainer"]["callbacks"]
    kept = [c for c in defaults if c["class_path"] != "zoo.callbacks.ChannelsLast"]
    return (f"--trainer.callbacks={json.dumps(kept + [{'class_path': 'zoo.callbacks.ChannelsLast'}] * channels_last)}",)


def main() -> None:
    args = median_batch_arguments(__doc__, ["vae/conv_mnist_gaussian", "gan/dcgan_mnist"], [300, 60], 4,
                                  "benchmarks/results/memory_format_speed.json")
    fits = {"contiguous": callbacks(False), "channels_last": callbacks(True)}
    out = Path(args.out)
    report = json.loads(out.read_text()) if out.is_file() else {}
    for i, recipe in enumerate(args.recipes):
        batches = args.batches[i % len(args.batches)]
        model, datamodule = instantiate(recipe, args.root)
        datamodule.setup("fit")
        data = memory_batches(datamodule, torch.Generator().manual_seed(0))
        plain = {"contiguous": hand_step_fn(copy.deepcopy(model)),
                 "channels_last": hand_step_fn(copy.deepcopy(model).to(memory_format=torch.channels_last))}
        variants = [("fit", name) for name in fits] + [("plain", name) for name in plain]
        ms = {variant: [] for variant in variants}
        for r in range(args.rounds):
            for kind, name in variants[r % len(variants):] + variants[: r % len(variants)]:
                if kind == "fit":
                    with tempfile.TemporaryDirectory() as run_dir:
                        seconds = fit_batch_seconds(recipe, args.root, batches, run_dir, fits[name])[args.skip:]
                    ms[kind, name].append(round(1000 * statistics.median(seconds), 2))
                else:
                    ms[kind, name].append(round(1000 * time_steps(plain[name], data, args.skip, batches) / batches, 2))
                print(recipe, kind, name, ms[kind, name][-1], "ms a batch", flush=True)
        median = {variant: statistics.median(values) for variant, values in ms.items()}
        result = {"recipe": recipe, "threads": torch.get_num_threads(), "batches": batches,
                  "skipped": args.skip, "rounds": args.rounds, "torch": torch.__version__,
                  **{f"{kind}_{name}_ms_per_batch": m for (kind, name), m in median.items()},
                  **{f"{kind}_{name}_ms": v for (kind, name), v in ms.items()},
                  **{f"{kind}_channels_last_speedup":
                     round(median[kind, "contiguous"] / median[kind, "channels_last"], 3) for kind in ("fit", "plain")}}
        report[f"{recipe} threads={torch.get_num_threads()}"] = result
        print(json.dumps(result), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
