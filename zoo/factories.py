"""Networks, likelihoods and optimizers are passed to modules as factories: a class, a
`functools.partial` of one, or its config `{"class_path": ..., "init_args": {...}}` as in YAML. Option groups
(GANObjective, VAEPrior, ...) are passed as components: the dataclass, its fields as a dict, or one field's value.

Modules keep the config form in their hyper-parameters, so a checkpoint holds no pickled code and
loads with `torch.load(weights_only=True)`.
"""

from functools import partial
from typing import Any

from lightning.pytorch.cli import instantiate_class


def as_config(factory: Any) -> dict | None:
    """The `{"class_path", "init_args"}` form of a factory."""
    if factory is None or isinstance(factory, dict):
        return factory
    init_args: dict = {}
    if isinstance(factory, partial):
        if factory.args:
            raise ValueError(f"give {factory.func.__name__}'s options by keyword in partial(...)")
        factory, init_args = factory.func, dict(factory.keywords)
    if not isinstance(factory, type):
        raise TypeError(f"expected a class, a partial of a class or a class_path config, got {factory!r}")
    return {"class_path": f"{factory.__module__}.{factory.__qualname__}", "init_args": init_args}


def build(factory: Any, *args):
    """Call the factory with `args` (positional), whatever form it was given in."""
    if isinstance(factory, dict):
        return instantiate_class(args, {"init_args": {}, **factory})
    return factory(*args)


def keep_factories_as_configs(hparams, names: tuple[str, ...]) -> None:
    """Store the named factories as configs, so that `load_from_checkpoint` calls the module with them.

    LightningCLI already records configs; it also records an `_instantiator` that would rebuild the
    module through jsonargparse, which is not needed once the configs are plain data, so it is dropped.
    """
    for name in names:
        hparams[name] = as_config(hparams[name])
    hparams.pop("_instantiator", None)


def as_component(cls: type, given: Any, shorthand: str):
    """The component `cls` as a module was given it: the object itself, its fields as a dict (a checkpoint's
    hyper-parameters), or the value of its field `shorthand` alone (a recipe's `objective: hinge`)."""
    if isinstance(given, cls):
        return given
    if isinstance(given, dict):
        return cls(**given)
    return cls(**{shorthand: given})
