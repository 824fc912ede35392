"""checkpoints/entries.yaml, the one file of entry facts the release reads: every registry row has its facts, and
every name, recipe and effect in it points at something that exists."""

import json

import yaml

from tests.conftest import REPO

FACTS = yaml.safe_load((REPO / "checkpoints" / "entries.yaml").read_text())
NAMES = [entry["name"] for entry in FACTS["entries"]]


def test_every_registry_row_has_its_facts_once():
    registry = [row["name"] for row in json.loads((REPO / "zoo" / "pretrained.json").read_text())]
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
