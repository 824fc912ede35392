"""Export the trained zoo entries to `checkpoints/<name>/`, re-evaluate the shipped weights with `lightning test`,
and regenerate the model cards, `zoo/pretrained.json` (names, recipes, sha256) and the README's results table.

    python benchmarks/export_pretrained.py --root ../shared/data [--only vae_mlp.mnist ...] [--no-export]

Sources are the runs that `benchmarks/train_pretrained.sh` (and the benchmarks named below) left in runs/.
"""

import argparse
import json
import shutil
from pathlib import Path

import torch
import yaml
from torchvision.utils import make_grid, save_image

from zoo import hub
from zoo.callbacks import ImageGrids
from zoo.cli import main as cli

REPO = Path(__file__).resolve().parent.parent
SCRIPT = "bash benchmarks/train_pretrained.sh 7"
ENTRIES = [  # name, recipe, description, source run, training command, IS-NLL samples for VAEs
    ("vae_mlp.mnist", "vae/mlp_mnist_elbo", "VAE (Kingma & Welling): MLP 512-512, latent 32, Bernoulli, one-sample "
     "ELBO, dynamically binarised MNIST", "runs/zoo/vae_mlp.mnist", SCRIPT, 1000),
    ("iwae_mlp.mnist", "vae/mlp_mnist", "IWAE (Burda et al.): MLP 512-512, latent 32, Bernoulli, 5-sample IWAE "
     "bound, dynamically binarised MNIST", "runs/benchmark_vae_mnist",
     "python benchmarks/vae_mnist_nll.py --root ../shared/data --minutes 15 --k 5000", 1000),
    ("vae_conv_gaussian.mnist", "vae/conv_mnist_gaussian", "convolutional VAE, Gaussian likelihood with fixed "
     "sigma (the seed's MSE form, in nats), grey-level MNIST", "runs/zoo/vae_conv_gaussian.mnist", SCRIPT, 100),
    ("beta_vae.mnist", "vae/beta_vae_mnist", "beta-VAE (Higgins et al.), beta = 4 with KL warm-up",
     "runs/zoo/beta_vae.mnist", SCRIPT, 1000),
    ("cvae_mlp.mnist", "vae/cvae_mnist", "conditional VAE (Sohn et al.): the digit label enters encoder and "
     "decoder", "runs/zoo/cvae_mlp.mnist", SCRIPT, 1000),
    ("gan_mlp.mnist", "gan/gan_mlp_mnist", "the original GAN (Goodfellow et al.): MLP players, non-saturating "
     "generator loss", "runs/zoo/gan_mlp.mnist", SCRIPT, None),
    ("dcgan.mnist", "gan/dcgan_mnist", "DCGAN (Radford et al.) with an EMA generator", "runs/dcgan_mnist",
     "lightning fit --config configs/gan/dcgan_mnist.yaml --data.root ../shared/data --data.download false "
     "--trainer.max_time 00:00:20:00 --seed_everything 0  (2 threads)", None),
    ("wgan_gp.mnist", "gan/wgan_gp_mnist", "WGAN-GP (Gulrajani et al.): Wasserstein critic, gradient penalty 10, "
     "5 critic steps", "runs/zoo/wgan_gp.mnist", SCRIPT, None),
    ("hinge_sn.mnist", "gan/hinge_sn_mnist", "hinge loss with a spectrally normalised discriminator (Miyato et al.)",
     "runs/zoo/hinge_sn.mnist", SCRIPT, None),
    ("cgan.mnist", "gan/cgan_mnist", "class-conditional GAN with a projection discriminator",
     "runs/zoo/cgan.mnist", SCRIPT, None),
    ("gan_mlp.ring", "gan/toy_ring", "GAN on PacGAN's ring of 8 Gaussians (non-saturating, R1, EMA)",
     "runs/benchmark_toy/ring_seed0", "python benchmarks/toy_modes.py --recipes ring  (seed 0)", None),
    ("gan_mlp.grid", "gan/toy_grid", "GAN on PacGAN's grid of 25 Gaussians (non-saturating, R1, EMA)",
     "runs/benchmark_toy/grid_seed0", "python benchmarks/toy_modes.py --recipes grid  (seed 0)", None),
]
CLASSIFIER = ("digit_classifier.mnist", None, "MNIST digit classifier: the domain feature extractor of FID/KID/IS",
              None, "python benchmarks/train_digit_classifier.py --root ../shared/data --epochs 4", None)
SHOWN = {"VAEModule": ["test/nll", "test/elbo", "test/fid", "test/inception_score_mean"],
         "GANModule": ["test/fid", "test/kid_mean", "test/inception_score_mean"],
         "toy": ["test/modes", "test/high_quality", "test/reverse_kl"]}


def last_checkpoint(run: str) -> Path:
    found = sorted((REPO / run).glob("lightning_logs/version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"no last.ckpt under {run}: train it first ({SCRIPT})")
    return found[-1]


def evaluate(name: str, recipe: str, root: str, k: int | None) -> dict:
    folder = REPO / "runs" / "zoo_eval" / name
    shutil.rmtree(folder, ignore_errors=True)
    args = ["test", "--config", f"configs/{recipe}.yaml", "--weights", f"checkpoints/{name}",
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.default_root_dir", str(folder)]
    if "toy" not in recipe:
        args += ["--data.root", root, "--data.download", "false"]
    if k is not None:
        args += ["--model.test_num_samples", str(k), "--model.compile_test", "true"]
    cli(args)
    report = json.loads((folder / "test_results.json").read_text())
    report["command"] = "lightning " + " ".join(a for a in args if "default_root_dir" not in a and a != str(folder))
    return report


def picture(name: str, recipe: str) -> None:
    target = REPO / "checkpoints" / name / "samples.png"
    if "toy" in recipe:  # the scatter plot ToyModes drew during `lightning test`
        shutil.copy(REPO / "runs" / "zoo_eval" / name / "images" / "toy_epoch=000.png", target)
        return
    module = hub.load_folder(REPO / "checkpoints" / name)
    torch.manual_seed(0)
    _, images, nrow = next(ImageGrids(num_samples=64).grids(module))
    save_image(make_grid(images.float().clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0), target)


def card(name, recipe, description, command, report, sha256) -> str:
    lines = [f"# {name}", "", description + ".", ""]
    if recipe:
        lines += [f"- Recipe: `configs/{recipe}.yaml`; load with `zoo.load_pretrained(\"{name}\")`.",
                  f"- Trained on the 60,000 MNIST training images (CPU): `{command}`"
                  if "toy" not in recipe else f"- Trained on the 2-D toy data (CPU): `{command}`",
                  f"- Evaluated from these weights: `{report['command']}`", "", "| test metric | value |", "|---|---|"]
        lines += [f"| `{k}` | {v:.4g} |" for k, v in report["metrics"].items()]
        lines += ["", "Protocol:", "", "```json", json.dumps(report["protocols"], indent=1), "```", "",
                  "![samples](samples.png)", ""]
    lines += ["sha256:", ""] + [f"- `{file}`: `{digest}`" for file, digest in sha256.items()]
    return "\n".join(lines) + "\n"


def results_table(rows: list[dict]) -> str:
    out = ["| entry | recipe | measured (`lightning test` on the shipped weights) | samples |", "|---|---|---|---|"]
    for row in rows:
        kind = "toy" if "toy" in row["recipe"] else ("VAEModule" if row["recipe"].startswith("vae") else "GANModule")
        shown = ", ".join(f"{k.removeprefix('test/')} {row['metrics'][k]:.4g}" for k in SHOWN[kind]
                          if k in row["metrics"])
        if kind == "VAEModule":
            shown += f" (IS-NLL k={row['k']})"
        out.append(f"| `{row['name']}` | `configs/{row['recipe']}.yaml` | {shown} | "
                   f"<img src=\"checkpoints/{row['name']}/samples.png\" width=\"120\"> |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--no-export", action="store_true", help="re-evaluate the folders as they are")
    args = parser.parse_args()
    table_path = REPO / "zoo" / "pretrained.json"
    table = {row["name"]: row for row in json.loads(table_path.read_text())} if table_path.is_file() else {}
    rows_path = REPO / "checkpoints" / "results.json"
    rows = {row["name"]: row for row in json.loads(rows_path.read_text())} if rows_path.is_file() else {}
    for name, recipe, description, run, command, k in ENTRIES:
        if args.only and name not in args.only:
            continue
        folder = REPO / "checkpoints" / name
        if not args.no_export:
            hub.export_checkpoint(last_checkpoint(run), folder, force=True)  # a re-export
        report = evaluate(name, recipe, args.root, k)
        picture(name, recipe)
        sha256 = {f: hub.sha256_of(folder / f) for f in (hub.WEIGHTS, hub.CONFIG)}
        (folder / hub.CARD).write_text(card(name, recipe, description, command, report, sha256))
        table[name] = {"name": name, "recipe": f"{recipe}.yaml", "description": description, "sha256": sha256}
        rows[name] = {"name": name, "recipe": recipe, "k": k, "metrics": report["metrics"],
                      "command": report["command"]}
        print(f"{name}: {report['metrics']}", flush=True)
    name, _, description, _, command, _ = CLASSIFIER
    folder = REPO / "checkpoints" / name
    (folder / hub.CONFIG).write_text(yaml.safe_dump({"class_path": "zoo.nets.classifier.DigitClassifier",
                                                     "init_args": {"num_classes": 10}}, sort_keys=False))
    table[name] = {"name": name, "recipe": None, "description": description,
                   "sha256": {f: hub.sha256_of(folder / f) for f in (hub.WEIGHTS, hub.CONFIG)}}
    order = [e[0] for e in ENTRIES] + [name]
    table_path.write_text(json.dumps([table[n] for n in order if n in table], indent=1) + "\n")
    ordered = [rows[n] for n in order if n in rows]
    rows_path.write_text(json.dumps(ordered, indent=1) + "\n")
    readme = (REPO / "README.md").read_text()
    start, end = "<!-- pretrained:start -->", "<!-- pretrained:end -->"
    generated = (f"{start}\nGenerated by `python benchmarks/export_pretrained.py --root ../shared/data` from the "
                 f"weights in `checkpoints/` (each model card gives its exact `lightning test` command).\n\n"
                 f"{results_table(ordered)}\n{end}")
    if start not in readme or end not in readme:
        raise SystemExit(f"README.md lacks the {start} ... {end} markers")
    head, _, rest = readme.partition(start)
    _, _, tail = rest.partition(end)
    (REPO / "README.md").write_text(head + generated + tail)


if __name__ == "__main__":
    main()
