"""The kind table (zoo.kinds) is the one list of module kinds: every ZooModule subclass the package defines is in
it, its rows name real classes, and checkpoints saved without `_class_path` are told apart by its markers."""

import importlib
import pkgutil

import pytest

import zoo
import zoo.modules
from zoo import allowlist, hub, kinds
from zoo.base import ZooModule
from zoo.errors import WeightsError


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
        assert hub.import_object(kind.class_path) is cls
        assert {kind.class_path, kind.defined_at} <= allowlist.allowed()


@pytest.mark.parametrize(("hparams", "expected"), [
    ({"num_codes": 64, "encoder": {}, "decoder": {}}, "zoo.VQVAEModule"),
    ({"encoder": {}, "decoder": {}, "latent_dim": 8}, "zoo.VAEModule"),
    ({"generator": {}, "discriminator": {}}, "zoo.GANModule"),
    ({"_class_path": "zoo.GANModule", "encoder": {}}, "zoo.GANModule"),
])
def test_checkpoints_without_their_class_path_are_told_apart_by_the_markers(hparams, expected):
    assert kinds.class_path_of(hparams) == expected
    assert hub.module_class_path(hparams) == expected


def test_hyperparameters_of_no_kind_are_refused():
    with pytest.raises(WeightsError, match="not a zoo module's hyper-parameters"):
        hub.module_class_path({"hidden": [512]})


def test_card_tags_come_from_the_kind():
    assert [kinds.tag_of(k.defined_at) for k in kinds.KINDS] == ["vae", "vae", "gan"]
    assert kinds.tag_of(kinds.CLASSIFIER) == "classifier"
