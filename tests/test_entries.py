"""checkpoints/entries.yaml, the one file of entry facts the release reads: every registry row has its facts, and
every name, recipe and effect in it points at something that exists."""

import json

import yaml

from tests.conftest import REPO

FACTS = yaml.safe_load((REPO / "checkpoints" / "entries.yaml").read_text())
NAMES = [entry["name"] for entry in FACTS["entries"]]


def test_every_registry_row_has_its_facts_once():
    registry = [row["name"] for row in json.loads((REPO / "zoo" / "hub" / "pretrained.json").read_text())]
    assert len(NAMES) == len(set(NAMES))
    assert set(registry) <= set(NAMES) | {FACTS["classifier"]["name"]}  # facts may come before their weights


def test_every_entry_names_an_existing_recipe_and_a_known_kind_of_fact():
    known = {"name", "recipe", "description", "run", "train", "nll_samples", "paper", "budget", "short_of", "ex_post"}
    for entry in FACTS["entries"]:
        assert (REPO / "configs" / f"{entry['recipe']}.yaml").is_file(), entry["name"]
        assert set(entry) <= known, (entry["name"], set(entry) - known)
        assert entry["train"].format(hour=FACTS["hour"].format(recipe=entry["recipe"])).strip(), entry["name"]


def test_every_effect_compares_entries_that_exist_on_a_metric_they_report():
    results = {row["name"]: row["metrics"] for row in json.loads((REPO / "checkpoints/results.json").read_text())}
    for effect in FACTS["effects"]:
        baseline = effect.get("baseline")
        names = [effect["entry"]] + ([baseline["name"] if isinstance(baseline, dict) else baseline] if baseline else [])
        for name in names:
            assert name in NAMES, (effect["family"], name)
        assert effect["metric"] in results[effect["entry"]], effect["family"]
        assert effect["better"] in ("lower", "higher")


def test_an_effect_without_a_baseline_has_a_target():
    for effect in FACTS["effects"]:
        if not effect.get("baseline"):
            assert isinstance(effect.get("target"), int | float), effect["family"]


def test_the_registry_and_the_cards_say_what_the_facts_and_the_looks_test_say():
    """Each shipped entry's registry description and card paragraph are what the release writes from its facts now
    (`zoo release --describe-only` rewrites them), and its looks mark is looks.json's verdict."""
    from zoo.hub import release as export

    registry = {row["name"]: row for row in json.loads((REPO / "zoo" / "hub" / "pretrained.json").read_text())}
    for name, _, description, *_ in export.ENTRIES:
        if name not in registry:
            continue
        expected = export.described(name, description)
        assert registry[name]["description"] == expected, name
        assert f"\n{expected}.\n" in (REPO / "checkpoints" / name / "README.md").read_text(), name
        assert registry[name].get("looks_shortfall") == export.looks_shortfall(name), name


def test_every_card_says_how_many_images_its_recipe_trains_on():
    from zoo.data import MNIST

    for entry in FACTS["entries"]:
        data = yaml.safe_load((REPO / "configs" / f"{entry['recipe']}.yaml").read_text())["data"]
        if not data["class_path"].endswith(".MNIST"):
            continue
        module = MNIST(**{k: v for k, v in data.get("init_args", {}).items() if k not in ("root", "download")})
        count = module.train_size or 60_000 - module.val_size  # what its fit trains on
        card = (REPO / "checkpoints" / entry["name"] / "README.md")
        if card.is_file():
            assert f"- Trained on {count:,} MNIST training images" in card.read_text(), entry["name"]
