"""`zoo release`: export the trained zoo entries to `checkpoints/<name>/`, re-evaluate the shipped weights with
`lightning test`, and regenerate the model cards, `zoo/hub/pretrained.json` (names, recipes, sha256) and the README's
results table. Run it in the checkout's root, the folder that holds `checkpoints/entries.yaml`:

    zoo release --root ../shared/data [--only vae_mlp.mnist ...] [--no-export]

Each entry's facts (recipe, source run, training command, paper figure, budget, shortfall, ex-post sampler) and the
families' effects are read from `checkpoints/entries.yaml`; the sources are the runs it names in runs/.
"""

import argparse
import inspect
import json
import re
import shutil
from pathlib import Path

import yaml

from zoo.cli.lightning_cli import main as cli
from zoo.data.vision import VisionDataModule
from zoo.hub import folders
from zoo.hub.cards import default_sampler, draw_picture
from zoo.hub.fit_sampler import fit_into
from zoo.hub.publish import hub_header

REPO = Path.cwd()  # the checkout being released
FACTS = yaml.safe_load((REPO / "checkpoints" / "entries.yaml").read_text())  # each entry's facts, typed once


def training_command(entry: dict) -> str:
    return entry["train"].format(hour=FACTS["hour"].format(recipe=entry.get("recipe")))


SCRIPT = FACTS["script"]
ENTRIES = [(e["name"], e["recipe"], e["description"], e["run"], training_command(e), e.get("nll_samples"))
           for e in FACTS["entries"]]  # name, recipe, description, source run, training command, IS-NLL k of a VAE
PAPER = {e["name"]: e["paper"] for e in FACTS["entries"] if "paper" in e}
BUDGET = {e["name"]: e["budget"] for e in FACTS["entries"] if "budget" in e}
SHORT_OF = {e["name"]: e["short_of"] for e in FACTS["entries"] if "short_of" in e}


def baseline_of(effect: dict) -> str | tuple[str, str] | None:
    """An entry's name; or (name, "prior"): its N(0, I) sample path; or None."""
    baseline = effect.get("baseline")
    return (baseline["name"], baseline["sampler"]) if isinstance(baseline, dict) else baseline


EFFECTS = [(e["family"], e["paper"], e["entry"], baseline_of(e), e["metric"], e["better"], e.get("factor", 1.0),
            e.get("target"), e.get("within", 0.0)) for e in FACTS["effects"]]
EX_POST = {e["name"]: (e["ex_post"]["kind"], {k: v for k, v in e["ex_post"].items() if k != "kind"})
           for e in FACTS["entries"] if "ex_post" in e}  # sample(n, sampler=kind) draws from them
CLASSIFIER = (FACTS["classifier"]["name"], None, FACTS["classifier"]["description"], None,
              FACTS["classifier"]["train"], None)


def measure(name_or_path, metric: str, rows: dict) -> float | None:
    """The metric of a shipped entry (checkpoints/results.json), or of its N(0, I) sample path."""
    if isinstance(name_or_path, tuple):  # `lightning test ... --model.sampler prior`'s report
        report = REPO / "benchmarks" / "results" / f"prior_sampler_{name_or_path[0]}.json"
        return json.loads(report.read_text())["metrics"].get(metric) if report.is_file() else None
    return rows.get(name_or_path, {}).get("metrics", {}).get(metric)


def effects_table(ordered: list[dict]) -> str:
    """Each family's paper effect beside what its entry shows against its baseline, from the shipped weights."""
    rows = {row["name"]: row for row in ordered}
    out = ["| family | the paper's effect | entry | baseline | measured (`lightning test` on the shipped weights) | "
           "shows it | training budget |", "|---|---|---|---|---|---|---|"]
    for family, paper, entry, baseline, metric, better, factor, target, within in EFFECTS:
        value, base = measure(entry, metric, rows), measure(baseline, metric, rows) if baseline else None
        if value is None or (baseline and base is None):
            continue
        name = metric.removeprefix("test/")
        if baseline:
            measured = f"{name} {value:.4g} against {base:.4g}" + (f" (within {within:g})" if within else "")
            shows = value < base + within if better == "lower" else value >= factor * base
        else:  # against the target for the family
            measured = f"{name} {value:.4g} (target: {'at most' if better == 'lower' else 'at least'} {target:g})"
            shows = value <= target if better == "lower" else value >= target
        label = ("" if baseline is None else f"`{baseline[0]}` from N(0, I)" if isinstance(baseline, tuple)
                 else f"`{baseline}`")
        out.append(f"| {family} | {paper} | `{entry}` | {label} | {measured} | {'yes' if shows else 'no'} | "
                   f"{BUDGET.get(entry, '7 min, 1 CPU thread')} |")
    return "\n".join(out)


LOOKS_FILE = REPO / "benchmarks" / "results" / "looks.json"
LOOKS = json.loads(LOOKS_FILE.read_text()) if LOOKS_FILE.is_file() else {}
MANIFOLD = ["test/precision", "test/recall", "test/density", "test/coverage"]  # where lightning test gave them
SHOWN = {"VAEModule": ["test/nll", "test/elbo", "test/fid", "test/inception_score_mean", *MANIFOLD],
         "GANModule": ["test/fid", "test/fid_live", "test/kid_mean", "test/inception_score_mean", *MANIFOLD,
                       "test/cluster_accuracy", "test/class_accuracy"],
         "vqvae": ["test/fid", "test/inception_score_mean", "test/psnr", "test/perplexity", "test/codes_used"],
         "toy": ["test/modes", "test/high_quality", "test/reverse_kl"],
         "stacked": ["test/modes", "test/kl", "test/modes_live", "test/kl_live"],
         "sprites": ["test/mig", "test/elbo"]}
LIVE = ("`*_live`: the trained generator's samples from the same noise; the other sample metrics are the EMA "
        "generator's, which `sample()` draws from.")
TRAINED_ON = {"toy": "the 2-D toy data", "sprites": "the zoo's 722,280 training sprites (rendered, no download)",
              "stacked": "the 128,000 Stacked-MNIST stacks of the MNIST training digits"}


def trained_on(recipe: str, command: str = "") -> str:
    """What the recipe trains on, in words: its data module's training split (MNIST less the validation images, or
    its fixed-seed `train_size` subset), and all of it in the runs of the training command that hold none out."""
    if (kind := kind_of(recipe)) in TRAINED_ON:
        return TRAINED_ON[kind]
    data = yaml.safe_load((REPO / "configs" / f"{recipe}.yaml").read_text())["data"].get("init_args") or {}
    if data.get("train_size"):
        return f"{data['train_size']:,} MNIST training images (a fixed-seed subset, train_size)"
    held_out = data.get("val_size", inspect.signature(VisionDataModule).parameters["val_size"].default)
    split = f"{60_000 - held_out:,} MNIST training images (the other {held_out:,} held out for validation)"
    if held_out and re.search(r"--data\.(init_args\.)?val_size 0\b", command):
        split += ", and all 60,000 in the runs with --data.init_args.val_size 0"
    return split


def kind_of(recipe: str) -> str:
    for kind in ("toy", "stacked", "sprites", "vqvae"):
        if kind in recipe:
            return kind
    return "VAEModule" if recipe.startswith("vae") else "GANModule"


def last_checkpoint(run: str) -> Path:
    found = sorted((REPO / run).glob("lightning_logs/version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"no last.ckpt under {run}: train it first ({SCRIPT})")
    return found[-1]


def folder_sha256(folder: Path) -> dict:
    return {f: folders.sha256_of(folder / f) for f in (folders.WEIGHTS, folders.CONFIG)}


def sha256_list(sha256: dict) -> list[str]:
    return [f"- `{file}`: `{digest}`" for file, digest in sha256.items()]


def pinned(row: dict, sha256: dict) -> dict:
    """A registry row's Hub repo and revision, kept while its files are the same (that commit holds them)."""
    return {key: row[key] for key in ("repo_id", "revision") if row.get("sha256") == sha256 and row.get(key)}


def evaluate(name: str, recipe: str, root: str, k: int | None) -> dict:
    folder = REPO / "runs" / "zoo_eval" / name
    shutil.rmtree(folder, ignore_errors=True)
    args = ["test", "--config", f"configs/{recipe}.yaml", "--weights", f"checkpoints/{name}",
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.default_root_dir", str(folder)]
    if "toy" not in recipe and "sprites" not in recipe:  # data that is generated, not read
        args += ["--data.root", root, "--data.download", "false"]
    if k is not None:
        args += ["--model.test_nll.num_samples", str(k), "--model.test_nll.compile", "true"]
    cli(args)
    report = json.loads((folder / "test_results.json").read_text())
    report["command"] = "lightning " + " ".join(a for a in args if "default_root_dir" not in a and a != str(folder))
    return report


LIKELIHOOD = ("test/nll", "test/bits_per_dim")  # what a VAE's IS-NLL k decides


def with_shipped_likelihood(report: dict, shipped: dict) -> dict:
    """A VAE's report re-measured with k = 1 (`--sample-metrics-only`: the sample metrics, in minutes), its IS-NLL
    figures kept from the shipped row's `lightning test` at the entry's k (the same weights: the folder is not
    re-exported), with both commands."""
    kept = {key: shipped["metrics"][key] for key in LIKELIHOOD if key in shipped["metrics"]}
    nll = f"importance sampling, k={shipped['k']} samples of q(z|x) per image, nats"
    protocols = {**report["protocols"], "VAEModule": {**report["protocols"]["VAEModule"], "nll": nll}}
    return {"metrics": dict(sorted({**report["metrics"], **kept}.items())), "protocols": protocols,
            "command": report["command"], "likelihood_command": shipped.get("likelihood_command", shipped["command"])}


def picture(name: str) -> None:
    """The card's picture, drawn by the package's card code through sample() (`zoo card NAME` draws the same)."""
    draw_picture(folders.load_folder(REPO / "checkpoints" / name), REPO / "checkpoints" / name / "samples.png", name)


def card(name, recipe, description, command, report, sha256) -> str:
    lines = [f"# {name}", "", described(name, description) + ".", ""]
    if recipe:
        lines += [f"- Recipe: `configs/{recipe}.yaml`; load with `zoo.load_pretrained(\"{name}\")`.",
                  trained_line(recipe, command),
                  f"- Evaluated from these weights: `{report['command']}`"]
        if "likelihood_command" in report:
            lines += [f"- Its {', '.join(f'`{k}`' for k in LIKELIHOOD)} at the entry's k, from the same weights: "
                      f"`{report['likelihood_command']}`"]
        lines += ["", "| test metric | value |", "|---|---|"]
        lines += [f"| `{k}` | {v:.4g} |" for k, v in report["metrics"].items()]
        if any(k.endswith("_live") for k in report["metrics"]):
            lines += ["", LIVE]
        lines += ["", "Protocol:", "", "```json", json.dumps(report["protocols"], indent=1), "```", "",
                  "![samples](samples.png)", "", *code_pictures(name)]
    lines += ["sha256:", "", *sha256_list(sha256)]
    metrics = [key.removeprefix("test/") for key in report["metrics"]]
    return hub_header(recipe.split("/")[0], metrics) + "\n".join(lines) + "\n"  # vae or gan


def trained_line(recipe: str, command: str) -> str:
    return f"- Trained on {trained_on(recipe, command)} (CPU): `{command}`"


def code_pictures(name: str) -> list[str]:
    """The card lines of the pictures drawn beside samples.png: an InfoGAN's codes (zoo.hub.cards.code_grids), a small
    VAE's latent traversal (zoo.hub.cards.latent_traversal)."""
    folder, lines = REPO / "checkpoints" / name, []
    if (folder / "codes.png").is_file():
        lines += ["Rows: the 10 categorical codes, ten samples each (`sample(n, code=c)`):", "", "![codes](codes.png)",
                  ""]
    for path in sorted(folder.glob("continuous_*.png")):
        j = path.stem.rpartition("_")[2]
        lines += [f"Continuous code {j} swept from -1 to 1 along each row (one noise and one category per row, the "
                  f"other codes at 0):", "", f"![continuous code {j}]({path.name})", ""]
    if (folder / "traversal.png").is_file():  # zoo.hub.cards.latent_traversal
        lines += ["Latent traversal: row j is `sample(n, z=z)` at z = 0 with latent j swept from -2.5 to 2.5 (a "
                  "disentangled model changes one factor per row):", "", "![latent traversal](traversal.png)", ""]
    return lines


def is_conditional(name: str) -> bool:
    """Whether the shipped model takes labels (its IS-NLL is then -log p(x|y), not -log p(x))."""
    config = yaml.safe_load((REPO / "checkpoints" / name / folders.CONFIG).read_text())
    return config.get("init_args", {}).get("num_classes", 0) > 0


def results_table(rows: list[dict]) -> str:
    out = ["| entry | recipe | -log p(x), nats | -log p(x\\|y), nats (class-conditional) | "
           "other measures (`lightning test` on the shipped weights) | paper | training budget | looks test "
           "(`sample(2000)`, benchmarks/looks.py) | samples |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        kind = kind_of(row["recipe"])
        shown = ", ".join(f"{k.removeprefix('test/')} {row['metrics'][k]:.4g}" for k in SHOWN[kind]
                          if k in row["metrics"] and k != "test/nll")
        nll = [""] * 2
        if "test/nll" in row["metrics"] and row["k"]:  # None: an IS-NLL the entry does not stand on (WAE: no KL)
            nll[is_conditional(row["name"])] = f"{row['metrics']['test/nll']:.4g} (IS, k={row['k']})"
        paper, budget = PAPER.get(row["name"], ""), BUDGET.get(row["name"], "7 min, 1 CPU thread")
        looks = "; ".join(problems.values()) if (problems := looks_shortfall(row["name"])) else \
            "passes" if row["name"] in LOOKS else ""
        out.append(f"| `{row['name']}` | `configs/{row['recipe']}.yaml` | {nll[0]} | {nll[1]} | {shown} | {paper} | "
                   f"{budget} | {looks} | <img src=\"checkpoints/{row['name']}/samples.png\" width=\"120\"> |")
    return "\n".join(out)


def gan_table(rows: list[dict]) -> str:
    """The image GANs, best FID first: FID, precision, recall, density, coverage, the paper's figure, the budget."""
    gans = sorted((row for row in rows if kind_of(row["recipe"]) == "GANModule" and "test/fid" in row["metrics"]),
                  key=lambda row: row["metrics"]["test/fid"])
    out = ["| entry | FID | precision | recall | density | coverage | paper | training budget |",
           "|---|---|---|---|---|---|---|---|"]
    for row in gans:
        values = [f"{row['metrics'][k]:.3g}" if k in row["metrics"] else "not measured"
                  for k in ("test/fid", *MANIFOLD)]
        out.append(f"| `{row['name']}` | {' | '.join(values)} | {PAPER.get(row['name'], '')} | "
                   f"{BUDGET.get(row['name'], '7 min, 1 CPU thread')} |")
    return "\n".join(out)


def describe(entries: list[tuple]) -> None:
    """Rewrite the description paragraph and the sha256 list of the named entries' cards and registry rows from
    ENTRIES, SHORT_OF and the folders' files (after fitting an ex-post sampler, say), keeping their measurements."""
    table_path = REPO / "zoo" / "hub" / "pretrained.json"
    table = json.loads(table_path.read_text())
    for name, recipe, description, *_ in entries:
        folder = REPO / "checkpoints" / name
        if not folder.is_dir():  # facts written before the weights are shipped
            continue
        description = described(name, description)
        sha256 = folder_sha256(folder)
        head, title, rest = (folder / folders.CARD).read_text().partition(f"# {name}\n\n")
        after = rest.partition("\n\n")[2].partition("sha256:\n\n")[0]
        if recipe:  # the training data, read from the recipe
            after = "\n".join(trained_line(recipe, line.partition("(CPU): `")[2].removesuffix("`"))
                              if line.startswith("- Trained on ") else line for line in after.split("\n"))
        (folder / folders.CARD).write_text(f"{head}{title}{description}.\n\n{after}sha256:\n\n" +
                                       "".join(line + "\n" for line in sha256_list(sha256)))
        for i, row in enumerate(table):
            if row["name"] == name:
                table[i] = {**{k: v for k, v in row.items() if k not in ("repo_id", "revision", "looks_shortfall")},
                            "description": description, "sha256": sha256, **pinned(row, sha256),
                            **looks_mark(name)}
    table_path.write_text(json.dumps(table, indent=1) + "\n")
    write_readme_table(json.loads((REPO / "checkpoints" / "results.json").read_text()))


def looks_shortfall(name: str) -> dict[str, str] | None:
    """The looks test's failed criteria for the entry's sample(2000), with their figures (benchmarks/looks.py)."""
    return LOOKS.get(name, {}).get("problems") or None


def looks_mark(name: str) -> dict:
    """The registry row's known looks shortfall: tests/test_looks.py expects exactly these entries to fail."""
    return {"looks_shortfall": problems} if (problems := looks_shortfall(name)) else {}


def described(name: str, description: str) -> str:
    """The card's first paragraph: what falls short first, then what the entry is."""
    shortfalls = [SHORT_OF[name]] if name in SHORT_OF else []
    if problems := looks_shortfall(name):
        shortfalls.append(f"Its sample(2000) fails the zoo's looks test ({'; '.join(problems.values())})")
    parts = [*shortfalls, description[0].upper() + description[1:] if shortfalls else description]
    config = REPO / "checkpoints" / name / folders.CONFIG
    if name != CLASSIFIER[0] and config.is_file():
        parts.append(f"sample(n) draws from {default_sampler(yaml.safe_load(config.read_text()))}")
    return ". ".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="zoo release", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--no-export", action="store_true", help="re-evaluate the folders as they are")
    parser.add_argument("--sample-metrics-only", action="store_true",
                        help="for a VAE already in results.json: re-measure all but its IS-NLL, which is kept "
                             "(the folder as it is, not re-exported)")
    parser.add_argument("--describe-only", action="store_true",
                        help="only rewrite the cards' and the registry's descriptions from ENTRIES (no evaluation)")
    args = parser.parse_args(argv)
    if args.describe_only:
        return describe([e for e in ENTRIES if not args.only or e[0] in args.only])
    table_path = REPO / "zoo" / "hub" / "pretrained.json"
    table = {row["name"]: row for row in json.loads(table_path.read_text())} if table_path.is_file() else {}
    rows_path = REPO / "checkpoints" / "results.json"
    rows = {row["name"]: row for row in json.loads(rows_path.read_text())} if rows_path.is_file() else {}
    for name, recipe, description, run, command, k in ENTRIES:
        folder = REPO / "checkpoints" / name
        if (args.only and name not in args.only) or (not args.only and not folder.is_dir()):
            continue  # an entry not shipped yet is exported when named
        if args.sample_metrics_only and name in table and folder_sha256(folder) != table[name]["sha256"]:
            raise SystemExit(f"{name}: its folder's files differ from the registry's: --sample-metrics-only keeps an "
                             f"IS-NLL of the shipped weights only")
        if not args.no_export and not args.sample_metrics_only:
            folders.export_checkpoint(last_checkpoint(run), folder, force=True)  # a re-export
            if name in EX_POST:
                fit_into(folder, *EX_POST[name], args.root, default=True)  # sample() draws from it
        if args.sample_metrics_only and k and name in rows:
            report = with_shipped_likelihood(evaluate(name, recipe, args.root, 1), rows[name])
        else:
            report = evaluate(name, recipe, args.root, k)
        picture(name)
        sha256 = folder_sha256(folder)
        (folder / folders.CARD).write_text(card(name, recipe, description, command, report, sha256))
        table[name] = {"name": name, "recipe": f"{recipe}.yaml", "description": described(name, description),
                       "sha256": sha256, **pinned(table.get(name, {}), sha256), **looks_mark(name)}
        kept_k = rows[name]["k"] if "likelihood_command" in report else k  # the k of the kept IS-NLL
        rows[name] = {"name": name, "recipe": recipe, "k": kept_k, "metrics": report["metrics"],
                      "command": report["command"],
                      **({"likelihood_command": report["likelihood_command"]} if "likelihood_command" in report
                         else {})}
        print(f"{name}: {report['metrics']}", flush=True)
    name, _, description, _, command, _ = CLASSIFIER
    folder = REPO / "checkpoints" / name
    (folder / folders.CONFIG).write_text(yaml.safe_dump({"class_path": "zoo.nets.classifier.DigitClassifier",
                                                     "init_args": {"num_classes": 10}}, sort_keys=False))
    table[name] = {"name": name, "recipe": None, "description": description,
                   "sha256": folder_sha256(folder)}
    order = [e[0] for e in ENTRIES] + [name]
    table_path.write_text(json.dumps([table[n] for n in order if n in table], indent=1) + "\n")
    ordered = [rows[n] for n in order if n in rows]
    rows_path.write_text(json.dumps(ordered, indent=1) + "\n")
    write_readme_table(ordered)


def write_readme_table(ordered: list[dict]) -> None:
    readme = (REPO / "README.md").read_text()
    start, end = "<!-- pretrained:start -->", "<!-- pretrained:end -->"
    generated = (f"{start}\nGenerated by `zoo release --root ../shared/data` from the "
                 f"weights in `checkpoints/` (each model card gives its exact `lightning test` command).\n\n"
                 f"{results_table(ordered)}\n{end}")
    readme = replace_between(readme, start, end, generated)
    start, end = "<!-- effects:start -->", "<!-- effects:end -->"
    readme = replace_between(readme, start, end, f"{start}\n{effects_table(ordered)}\n{end}")
    start, end = "<!-- gans:start -->", "<!-- gans:end -->"
    readme = replace_between(readme, start, end, f"{start}\n{gan_table(ordered)}\n{end}")
    (REPO / "README.md").write_text(readme)


def replace_between(text: str, start: str, end: str, generated: str) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"README.md lacks the {start} ... {end} markers")
    head, _, rest = text.partition(start)
    return head + generated + rest.partition(end)[2]


if __name__ == "__main__":
    main()
