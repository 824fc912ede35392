"""Docs the CLI can show: every zoo class a recipe names by class_path documents each of its arguments in an Args
section, which jsonargparse reads for `lightning fit --help` and `--model.help CLASS`."""

import importlib
import inspect

import docstring_parser
import pytest
import yaml

import zoo
from tests.conftest import REPO


def class_paths(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["class_path"]} if isinstance(node.get("class_path"), str) else set()
        return found.union(*(class_paths(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(class_paths(value) for value in node))
    return set()


NAMED = sorted({path for recipe in (REPO / "configs").rglob("*.yaml")
                for path in class_paths(yaml.safe_load(recipe.read_text())) if path.startswith("zoo.")})


def undocumented(cls: type) -> list[str]:
    """The arguments without a description in the Args of the class or of a base class (jsonargparse reads both)."""
    documented = {p.arg_name: p.description for klass in reversed(cls.__mro__)
                  for doc in (klass.__doc__, getattr(klass.__init__, "__doc__", None))
                  for p in docstring_parser.parse(doc or "").params}
    arguments = [name for name, parameter in inspect.signature(cls.__init__).parameters.items()
                 if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)]
    return [name for name in arguments if not documented.get(name)]


def test_the_recipes_name_the_zoo_classes_a_user_meets():
    assert {"zoo.VAEModule", "zoo.GANModule", "zoo.data.MNIST", "zoo.nets.ConvEncoder",
            "zoo.callbacks.SampleQuality"} <= set(NAMED)


@pytest.mark.parametrize("class_path", NAMED)
def test_every_argument_of_a_class_a_recipe_names_is_documented(class_path):
    module, _, name = class_path.rpartition(".")
    assert undocumented(getattr(importlib.import_module(module), name)) == []


@pytest.mark.parametrize("name", sorted(zoo.COMPONENTS))
def test_every_option_of_a_component_is_documented(name):
    """The components a recipe configures (`--model.objective.help` prints these Args)."""
    assert undocumented(getattr(zoo, name)) == []
