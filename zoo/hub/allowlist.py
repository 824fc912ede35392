"""What a file from elsewhere may make the zoo import and call: a weights folder's `config.yaml` and a Lightning
checkpoint's hyper-parameters are data, never code.

Before anything is built from such a config, every string in it that could name code (the value of a
`class_path`, or any dotted name such as `os.system`, at any depth) must be on the allow-list:

- the zoo's module kinds (`zoo.kinds.KINDS`, in either spelling) and their components (`zoo.kinds.COMPONENTS`), the
  digit classifier, networks (`zoo.nets`) and likelihoods (`zoo.distributions`);
- torch's optimizers (`torch.optim`) and learning-rate schedulers (`torch.optim.lr_scheduler`);
- Lightning's own instantiator, which Lightning itself allow-lists, as a checkpoint's `_instantiator`.

Anything else is refused with one line, before any import. Classes of your own, in files you trust, are
allowed with `zoo.hub.allowlist.allow("package.module.Class")`.
"""

import inspect
from collections.abc import Iterator
from functools import cache

from zoo.errors import UntrustedConfigError
from zoo.kinds import CLASSIFIER, COMPONENTS, KINDS

MODULES = (*(kind.class_path for kind in KINDS), *(kind.defined_at for kind in KINDS), *COMPONENTS,
           *(f"zoo.{path.rpartition('.')[2]}" for path in COMPONENTS), CLASSIFIER)  # components: zoo.<Name> too
LIKELIHOODS = ("BernoulliLikelihood", "GaussianLikelihood")  # in zoo.distributions
INSTANTIATORS = ("lightning.pytorch.cli.instantiate_module", "pytorch_lightning.cli.instantiate_module")
IMPORT_KEYS = ("class_path", "_class_path", "_instantiator", "callable")  # keys whose value is always an import path
ALLOWED_BY_YOU: set[str] = set()


def allow(*class_paths: str) -> None:
    """Allow classes of your own in the configs of files you trust (for this process)."""
    ALLOWED_BY_YOU.update(class_paths)


def names_of(package: str, classes) -> set[str]:
    """Each class by its public path (`package.Name`) and where it is defined (`module.Qualname`)."""
    return {f"{package}.{c.__name__}" for c in classes} | {f"{c.__module__}.{c.__qualname__}" for c in classes}


@cache
def allowed() -> frozenset[str]:
    import torch

    from zoo import distributions, nets

    optim, schedulers = torch.optim, torch.optim.lr_scheduler
    optimizers = [c for c in vars(optim).values()
                  if inspect.isclass(c) and issubclass(c, optim.Optimizer) and c is not optim.Optimizer]
    bases = (schedulers.LRScheduler, schedulers._LRScheduler)
    lr_schedulers = [c for c in vars(schedulers).values()
                     if inspect.isclass(c) and issubclass(c, schedulers.LRScheduler) and c not in bases]
    return frozenset({*MODULES, *names_of("zoo.nets", [getattr(nets, name) for name in nets.__all__]),
                      *names_of("zoo.distributions", [getattr(distributions, name) for name in LIKELIHOODS]),
                      *names_of("torch.optim", optimizers),
                      *names_of("torch.optim.lr_scheduler", lr_schedulers)})


def looks_like_import_path(text: str) -> bool:
    """`a.b` or `a:b`, whatever the spaces: a string some loader could import."""
    compact = "".join(text.split()).replace(":", ".")
    return "." in compact and all(part.isidentifier() for part in compact.split("."))


def leaves(tree, where: str = "") -> Iterator[tuple[str, str, object]]:
    """(place, key, value) of every value in a YAML-like tree of dicts and lists, dicts and lists included."""
    yield where, where.rpartition(".")[2], tree
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, f"{where}.{key}" if where else str(key))
    elif isinstance(tree, list | tuple):
        for i, value in enumerate(tree):
            yield from leaves(value, f"{where}[{i}]")


def check_config(tree, source: str, trusted: tuple[str, ...] = ()) -> None:
    """Refuse a config read from a file if it names anything outside the allow-list (or `trusted`), before any
    import. `source` names the file in the message."""
    for where, key, value in leaves(tree):
        if key == "_instantiator":
            ok = value in INSTANTIATORS
        elif key in IMPORT_KEYS or (isinstance(value, str) and looks_like_import_path(value)):
            ok = isinstance(value, str) and (value in allowed() or value in ALLOWED_BY_YOU or value in trusted)
        else:
            continue
        if not ok:
            raise UntrustedConfigError(
                f"{source}: {where} names {value!r}, which a weights file or checkpoint may not make the zoo "
                f"import (allowed: zoo modules, networks and likelihoods, torch.optim optimizers and schedulers); "
                f"nothing was imported. If you trust this file, allow it first: zoo.hub.allowlist.allow({value!r})")
