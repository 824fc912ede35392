"""bf16 mixed precision on CPU as an option: the training step of `lightning fit --config configs/<recipe>.yaml` at
`--trainer.precision 32-true` (the recipes' default) and at `bf16-mixed` (autocast to bfloat16: matrix multiplies
and convolutions in bf16, reductions and losses in fp32), run in this process as a user runs it. A callback records
the wall time of every training batch (one VAE update, or one D and one G update); the figure is the median
after `--skip` batches, so start-up, compilation and epoch ends stay out of it. The two precisions alternate
within each round. What bf16 does to the final likelihood is a separate, trained comparison.
JSON goes to benchmarks/results/precision_speed.json.

    python benchmarks/precision_speed.py --root ../shared/data [--recipes vae/mlp_mnist_elbo gan/dcgan_mnist]
        [--threads 1]
"""

import json
import statistics
import tempfile
from pathlib import Path

import torch
from train_speed import fit_batch_seconds, median_batch_arguments

PRECISIONS = ["32-true", "bf16-mixed"]


def main() -> None:
    args = median_batch_arguments(__doc__, ["vae/mlp_mnist_elbo", "gan/dcgan_mnist"], [300, 50], 2,
                                  "benchmarks/results/precision_speed.json")
    out = Path(args.out)
    report = json.loads(out.read_text()) if out.is_file() else {}
    for i, recipe in enumerate(args.recipes):
        batches = args.batches[i % len(args.batches)]
        ms = {precision: [] for precision in PRECISIONS}
        for r in range(args.rounds):
            for precision in PRECISIONS[:: 1 if r % 2 == 0 else -1]:
                with tempfile.TemporaryDirectory() as run_dir:
                    seconds = fit_batch_seconds(recipe, args.root, batches, run_dir,
                                                ("--trainer.precision", precision))[args.skip:]
                ms[precision].append(round(1000 * statistics.median(seconds), 2))
                print(recipe, precision, ms[precision][-1], "ms a batch", flush=True)
        median = {precision: statistics.median(values) for precision, values in ms.items()}
        result = {"recipe": recipe, "threads": torch.get_num_threads(), "batches_per_fit": batches,
                  "skipped": args.skip, "rounds": args.rounds, "torch": torch.__version__,
                  **{f"{p}_ms_per_batch": m for p, m in median.items()}, **{f"{p}_ms": v for p, v in ms.items()},
                  "bf16_speedup": round(median["32-true"] / median["bf16-mixed"], 3)}
        report[f"{recipe} threads={torch.get_num_threads()}"] = result
        print(json.dumps(result), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
