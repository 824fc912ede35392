"""`zoo fit-sampler`: fit an ex-post sampler (zoo.distributions.samplers: "gmm" or "two_stage") to an MNIST VAE
weights folder's aggregate posterior over the training images, and write the folder with the sampler in its weights
and config.

    zoo fit-sampler checkpoints/vae_mlp.mnist --kind gmm --root ../shared/data \
        [--out DIR] [--default] [--components 10] [--steps 10000] [--evaluate vae/mlp_mnist_elbo]

The images are prepared as in training: binarised afresh for a Bernoulli likelihood, grey levels otherwise.
`--default` makes `sample(n)` (and so `lightning test`'s FID) draw from the fitted sampler. Re-export the
entry afterwards (its files' sha256 change). `--evaluate RECIPE` then runs `lightning test` of the written folder
with the fitted sampler (its FID/KID/IS; the IS-NLL with k = 1, since a sampler does not change it) and writes
the report to benchmarks/results/ex_post_<kind>_<folder name>.json.
"""

import argparse
import json
import time
from pathlib import Path

import torch

from zoo.cli.lightning_cli import main as cli
from zoo.data import MNIST
from zoo.hub import folders


def fit_into(folder, kind: str, options: dict, root: str, out=None, default: bool = False) -> None:
    """Fit the ex-post sampler `kind` to the weights folder's VAE (seed 0) and write the VAE with it to `out`."""
    torch.manual_seed(0)
    vae = folders.load_folder(folder)
    bernoulli = "Bernoulli" in str(vae.hparams.likelihood)
    data = MNIST(root=root, download=False, binarize="dynamic" if bernoulli else "none", batch_size=1000)
    vae.fit_sampler(data, kind, **options)
    if default:
        vae.hparams.sampler = kind
    folders.save_folder(vae.eval(), out or folder)


def sampler_options(kind: str, components: int, steps: int) -> dict:
    return {"num_components": components} if kind == "gmm" else {"steps": steps}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zoo fit-sampler", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--kind", choices=["gmm", "two_stage"], default="gmm")
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--out", default=None, help="weights folder to write (default: the input folder)")
    parser.add_argument("--default", action="store_true", help="make it the sampler sample() uses by default")
    parser.add_argument("--components", type=int, default=10, help="gmm: mixture components (full covariance)")
    parser.add_argument("--steps", type=int, default=10_000, help="two_stage: training steps of the second VAE")
    parser.add_argument("--evaluate", metavar="RECIPE", help="lightning test the result with this recipe")
    args = parser.parse_args(argv)
    options = sampler_options(args.kind, args.components, args.steps)
    out = Path(args.out or args.folder)
    start = time.perf_counter()
    fit_into(args.folder, args.kind, options, args.root, out, args.default)
    seconds = time.perf_counter() - start
    print(f"fitted {args.kind} {options} in {seconds:.1f} s; wrote {out}")
    if args.evaluate:
        folder = Path("runs/ex_post_eval") / out.name
        command = ["test", "--config", f"configs/{args.evaluate}.yaml", "--weights", str(out),
                   "--model.ex_post_samplers", json.dumps({args.kind: options}), "--model.sampler", args.kind,
                   "--model.test_nll.num_samples", "1", "--trainer.logger", "false", "--trainer.enable_progress_bar",
                   "false", "--data.root", args.root, "--data.download", "false"]
        cli([*command, "--trainer.default_root_dir", str(folder)])
        report = json.loads((folder / "test_results.json").read_text())
        report.update(fit_seconds=round(seconds, 1), sampler=args.kind, options=options, source=args.folder,
                      command="lightning " + " ".join(command))
        default = sampler_options(args.kind, parser.get_default("components"), parser.get_default("steps"))
        tag = "".join(f"_{key}{value}" for key, value in options.items() if default[key] != value)
        target = Path("benchmarks/results") / f"ex_post_{args.kind}{tag}_{Path(args.folder).name}.json"
        target.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {target}: {report['metrics']}")


if __name__ == "__main__":
    main()
