"""Is the importance-sampled NLL evaluation compute-bound? Its FLOP rate against torch.matmul's, in one run.

Runs `importance_sampled_log_likelihood` (as `lightning test` does: batches of 128 test images, k samples
each) for the MLP VAE of `configs/vae/mlp_mnist.yaml` on the binarised MNIST test images, counts the
matrix-multiply FLOPs of one batch with torch's FlopCounterMode, and divides by the time taken. The
reference is torch.matmul alone on the same layer shapes at the same chunk size, timed in the same process
every 8 batches (median of the probes): the rate the evaluation would reach if nothing but its matmuls
cost time. With `--compile` (the default,
as the recipe's `test_nll: {compile: true}`) compilation happens on the first and last batches before the timed
pass and is reported apart.

    python benchmarks/is_nll_flops.py --root ../shared/data [--ckpt runs/.../last.ckpt] [--k 5000] [--images 10000]
    python benchmarks/is_nll_flops.py --root ../shared/data --weights checkpoints/iwae_mlp.mnist

Writes benchmarks/results/is_nll_flops_compiled.json (or _eager.json with --no-compile).
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from tempfile import mkdtemp

import torch
from torch.utils.flop_counter import FlopCounterMode

from zoo import VAEModule
from zoo.cli.lightning_cli import main as cli
from zoo.cli.lightning_cli import resolve_weights
from zoo.hub import folders
from zoo.metrics.likelihood import CHUNK_ELEMENTS, importance_sampled_log_likelihood

RECIPE = "configs/vae/mlp_mnist.yaml"


def matmul_rate(model: VAEModule, rows: int, repeats: int = 20) -> float:
    """FLOP/s of torch.matmul on the decoder's Linear shapes, `rows` rows each (the encoder runs once per
    image, 1/k of the work)."""
    shapes = [m.weight.shape for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)]
    flops = seconds = 0.0
    for out_features, in_features in shapes:
        a, w = torch.randn(rows, in_features), torch.randn(in_features, out_features)
        torch.matmul(a, w)
        start = time.perf_counter()
        for _ in range(repeats):
            torch.matmul(a, w)
        seconds += time.perf_counter() - start
        flops += 2.0 * rows * in_features * out_features * repeats
    return flops / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--ckpt", default=None, help="a trained checkpoint of the recipe (random weights without)")
    parser.add_argument("--weights", default=None, help="or zoo weights: registry name or folder")
    parser.add_argument("--output", default=None, help="default: benchmarks/results/is_nll_flops_<path>.json")
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    built = cli(["fit", "--config", RECIPE, "--data.root", args.root, "--data.download", "false",
                 "--trainer.max_steps", "0", "--trainer.logger", "false", "--trainer.default_root_dir", mkdtemp()])
    model, data = built.model, built.datamodule
    if args.ckpt:
        model = VAEModule.load_from_checkpoint(args.ckpt, weights_only=True, map_location="cpu")
    elif args.weights:
        folders.load_weights(model, resolve_weights(args.weights))
    model.eval()
    images = data.test_set.tensors[0][: args.images].float() / 255  # binarised once with the fixed seed
    batches = list(images.split(args.batch_size))
    with FlopCounterMode(display=False) as counter:
        importance_sampled_log_likelihood(model, batches[0], num_samples=args.k)
    flops_first = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        importance_sampled_log_likelihood(model, batches[-1], num_samples=args.k)
    flops = flops_first * (len(batches) - 1) + counter.get_total_flops()
    chunk_rows = max(1, min(args.k, CHUNK_ELEMENTS // images[0].numel() // args.batch_size)) * args.batch_size
    start = time.perf_counter()
    if args.compile:  # compile for the shapes the run will meet, outside the timed loop
        for x in (batches[0], batches[-1], batches[0]):
            importance_sampled_log_likelihood(model, x, num_samples=args.k, compile=True)
    warmup_seconds = time.perf_counter() - start
    probes, seconds, nll = [], 0.0, []
    for i, x in enumerate(batches):
        if i % 8 == 0:  # the reference, sampled through the run: the CPU's clock drifts over minutes
            probes.append(matmul_rate(model, chunk_rows))
        start = time.perf_counter()
        nll.append(-importance_sampled_log_likelihood(model, x, num_samples=args.k, compile=args.compile))
        seconds += time.perf_counter() - start
    probes.append(matmul_rate(model, chunk_rows))
    reference, rate = statistics.median(probes), flops / seconds
    nll = torch.cat(nll)
    report = {
        "command": "python " + " ".join(sys.argv),
        "torch_threads": torch.get_num_threads(), "images": len(images), "k": args.k,
        "compile": args.compile, "compile_and_warmup_seconds": round(warmup_seconds, 1),
        "nll_nats": round(float(nll.mean()), 3), "seconds": round(seconds, 1), "matmul_flops": flops,
        "achieved_gflops": round(rate / 1e9, 2),
        "matmul_gflops_median": round(reference / 1e9, 2),
        "matmul_gflops_probes_min_max": [round(min(probes) / 1e9, 2), round(max(probes) / 1e9, 2)],
        "ratio_to_matmul": round(rate / reference, 3),
    }
    print(json.dumps(report, indent=1))
    path = Path(args.output or f"benchmarks/results/is_nll_flops_{'compiled' if args.compile else 'eager'}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
