"""How denormal floats slow a training step on the CPU: train_speed.py's plain eager loop of a recipe, timed in
blocks of steps from its first step on, in a fresh process with denormals flushed to zero
(`torch.set_flush_denormal(True)` before any other torch call, so OpenMP's threads inherit it) and in one without;
the two alternate over the rounds. A loop that slows as it trains, and not when flushing, is meeting denormals
(gradients and Adam's moments below 1.2e-38). JSON goes to benchmarks/results/denormal_speed.json.

    python benchmarks/denormal_speed.py --root ../shared/data [--recipes vae/mlp_mnist_elbo] [--threads default 1]
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

OUT = Path("benchmarks/results/denormal_speed.json")


def worker(recipe: str, root: str, flush: bool, threads: int | None, blocks: int, block: int) -> list[float]:
    import torch

    if flush:
        torch.set_flush_denormal(True)  # first: the thread pool, started later, inherits it
    if threads:
        torch.set_num_threads(threads)
    import train_speed

    torch.manual_seed(0)
    model, datamodule = train_speed.instantiate(recipe, root)
    datamodule.setup("fit")
    batches = train_speed.memory_batches(datamodule, torch.Generator().manual_seed(0))
    step = train_speed.hand_step_fn(model)
    return [1000 * train_speed.time_steps(step, batches, 0, block) / block for _ in range(blocks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipes", nargs="+", default=["vae/mlp_mnist_elbo"])
    parser.add_argument("--threads", nargs="+", default=["default", "1"])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--block", type=int, default=200, help="steps a block")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", nargs=3, metavar=("RECIPE", "FLUSH", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        recipe, flush, threads = args.worker
        print(json.dumps(worker(recipe, args.root, flush == "1", None if threads == "default" else int(threads),
                                args.blocks, args.block)))
        return
    report = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for recipe in args.recipes:
        for threads in args.threads:
            blocks = {"flushed": [], "ieee": []}
            for r in range(args.rounds):
                for name in (["flushed", "ieee"] if r % 2 == 0 else ["ieee", "flushed"]):
                    command = [sys.executable, __file__, "--root", args.root, "--blocks", str(args.blocks),
                               "--block", str(args.block), "--worker", recipe, str(int(name == "flushed")), threads]
                    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                    blocks[name].append(json.loads(out.strip().splitlines()[-1]))
                    print(recipe, threads, name, [round(ms, 2) for ms in blocks[name][-1]], flush=True)
            result = {"recipe": recipe, "threads": threads, "block_steps": args.block, "rounds": args.rounds,
                      "command": " ".join(["python benchmarks/denormal_speed.py", *sys.argv[1:]])}
            for name, runs in blocks.items():
                result[f"{name}_ms_per_step_by_block"] = [round(statistics.median(column), 2)
                                                          for column in zip(*runs, strict=True)]
                result[f"{name}_rounds"] = [[round(ms, 2) for ms in run] for run in runs]
            last = {name: result[f"{name}_ms_per_step_by_block"][-1] for name in blocks}
            result["last_block_ieee_vs_flushed"] = round(last["ieee"] / last["flushed"], 3)
            report[f"{recipe} threads={threads}"] = result
            print(json.dumps(result), flush=True)
            OUT.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
