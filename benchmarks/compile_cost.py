"""What the training fast path's compilation costs a user, and that it is paid once: the wall time of a short
`lightning fit` of a recipe with `compile: true`, in a fresh process each time,
- `cold`: an empty torch.compile cache (TORCHINDUCTOR_CACHE_DIR pointing at a new folder), as on a fresh machine;
- `warm`: the same command again, the cache the cold run filled;
- `eager`: the same fit with `--model.compile false`, nothing compiled.
cold - warm is the compilation a fresh machine pays on its first run; warm - eager what every later run pays to load
the compiled graphs (and what their faster steps win back over so few steps). The variants run in this order in each
round, each round with a new cache. The report goes to benchmarks/results/compile_cost.json.

    python benchmarks/compile_cost.py --root ../shared/data [--recipe vae/mlp_mnist_elbo] [--steps 50] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def fit_seconds(recipe: str, root: str, steps: int, cache: str, extra: tuple[str, ...] = ()) -> float:
    """Wall seconds of `lightning fit` of `steps` batches in a new process whose compile cache is `cache`."""
    with tempfile.TemporaryDirectory() as run_dir:
        command = ["lightning", "fit", "--config", f"configs/{recipe}.yaml", "--data.root", root,
                   "--data.download", "false", "--seed_everything", "0", "--trainer.max_steps", str(steps),
                   "--trainer.limit_val_batches", "2", "--trainer.enable_progress_bar", "false",
                   "--trainer.default_root_dir", run_dir, *extra]
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=REPO, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--recipe", default="vae/mlp_mnist_elbo")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    seconds = {"cold": [], "warm": [], "eager": []}
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as cache:
            seconds["cold"].append(fit_seconds(args.recipe, args.root, args.steps, cache))
            seconds["warm"].append(fit_seconds(args.recipe, args.root, args.steps, cache))
            eager = ("--model.compile", "false")
            seconds["eager"].append(fit_seconds(args.recipe, args.root, args.steps, cache, eager))
        print("round", r, {name: round(values[-1], 2) for name, values in seconds.items()}, flush=True)
    median = {name: statistics.median(values) for name, values in seconds.items()}
    report = {"recipe": args.recipe, "steps": args.steps, "rounds": args.rounds,
              "threads": os.environ.get("OMP_NUM_THREADS", "default"),
              **{f"{name}_s": round(value, 2) for name, value in median.items()},
              **{f"{name}_runs_s": [round(s, 2) for s in values] for name, values in seconds.items()},
              "first_run_compilation_s": round(median["cold"] - median["warm"], 2),
              "later_run_cost_over_eager_s": round(median["warm"] - median["eager"], 2)}
    out = REPO / "benchmarks" / "results" / "compile_cost.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
