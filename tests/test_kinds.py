"""The kind table (zoo.kinds) is the one list of module kinds: every ZooModule subclass the package defines is in
it, its rows name real classes, and checkpoints saved without `_class_path` are told apart by its markers."""

import importlib
import pkgutil

import pytest

import zoo
import zoo.modules
from zoo import kinds
from zoo.base import ZooModule
from zoo.errors import WeightsError
from zoo.hub import allowlist, folders


def zoo_module_classes() -> set[type]:
    for info in pkgutil.iter_modules(zoo.modules.__path__, "zoo.modules."):
        importlib.import_module(info.name)
    found, todo = set(), [ZooModule]
    while todo:
        for subclass in todo.pop().__subclasses__():
            if subclass.__module__.startswith("zoo."):
                found.add(subclass)
            todo.append(subclass)
    return found


def test_every_zoo_module_subclass_is_a_kind_and_every_kind_is_exported_where_it_says():
    assert {f"{c.__module__}.{c.__name__}" for c in zoo_module_classes()} == {k.defined_at for k in kinds.KINDS}
    for kind in kinds.KINDS:
        cls = getattr(importlib.import_module(kind.module), kind.name)
        assert getattr(zoo, kind.name) is cls
        assert folders.import_object(kind.class_path) is cls
        assert {kind.class_path, kind.defined_at} <= allowlist.allowed()


@pytest.mark.parametrize(("hparams", "expected"), [
    ({"num_codes": 64, "encoder": {}, "decoder": {}}, "zoo.VQVAEModule"),
    ({"encoder": {}, "decoder": {}, "latent_dim": 8}, "zoo.VAEModule"),
    ({"generator": {}, "discriminator": {}}, "zoo.GANModule"),
    ({"_class_path": "zoo.GANModule", "encoder": {}}, "zoo.GANModule"),
])
def test_checkpoints_without_their_class_path_are_told_apart_by_the_markers(hparams, expected):
    assert kinds.class_path_of(hparams) == expected
    assert folders.module_class_path(hparams) == expected


def test_hyperparameters_of_no_kind_are_refused():
    with pytest.raises(WeightsError, match="not a zoo module's hyper-parameters"):
        folders.module_class_path({"hidden": [512]})


def test_card_tags_come_from_the_kind():
    assert [kinds.tag_of(k.defined_at) for k in kinds.KINDS] == ["vae", "vae", "gan"]
    assert kinds.tag_of(kinds.CLASSIFIER) == "classifier"


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda kind: kind.name)
def test_every_argument_of_every_kind_is_documented_where_the_cli_help_reads_it(kind):
    """jsonargparse reads the class docstring's Args section, so `lightning fit --model.help CLASS` explains each
    option; an argument added without a line there is caught here."""
    import inspect

    import docstring_parser
    from jsonargparse import ArgumentParser

    cls = next(c for c in zoo_module_classes() if f"{c.__module__}.{c.__name__}" == kind.defined_at)
    documented = {p.arg_name: p.description for p in docstring_parser.parse(cls.__doc__ or "").params}
    arguments = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    assert [a for a in arguments if not documented.get(a)] == []
    parser = ArgumentParser()
    parser.add_class_arguments(cls, "model", fail_untyped=False)
    shown = " ".join(parser.format_help().split())
    first = arguments[1]  # the help shows the description, wrapped
    assert " ".join(documented[first].split())[:30] in shown


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda kind: kind.name)
def test_every_kind_says_what_its_sample_draws_from_and_is_found_by_either_class_path(kind):
    cls = next(c for c in zoo_module_classes() if f"{c.__module__}.{c.__name__}" == kind.defined_at)
    assert kinds.kind_of(kind.class_path) == kinds.kind_of(kind.defined_at) == kind
    assert kinds.kind_of(f"elsewhere.{kind.name}") is None
    assert isinstance(cls.sampler_description({}), str) and cls.sampler_description({})
