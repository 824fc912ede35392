"""The zoo's module kinds, listed once. The package's lazy names, the hub, the allow-list, the CLI's checkpoint
check and the cards read this table, so a new kind is one row here (tests/test_kinds.py fails for a ZooModule
subclass that is missing). It imports nothing, so `zoo list` and `zoo --help` stay free of torch.

    kinds.KINDS                              # VQVAEModule, VAEModule, GANModule
    kinds.class_path_of({"generator": ...})  # "zoo.GANModule"
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # the class, exported as zoo.<name>
    module: str  # where it is defined
    tag: str  # the family, as the Hub card's tag says it
    marker: str  # a hyper-parameter of this kind that the kinds before it in KINDS lack

    @property
    def class_path(self) -> str:
        return f"zoo.{self.name}"

    @property
    def defined_at(self) -> str:
        return f"{self.module}.{self.name}"


# Ordered: a checkpoint saved without its `_class_path` is the first kind whose marker its hyper-parameters have
# (a VQ-VAE has an encoder too, so it comes before the VAE).
KINDS = (
    Kind("VQVAEModule", "zoo.modules.vqvae", "vae", marker="num_codes"),
    Kind("VAEModule", "zoo.modules.vae", "vae", marker="encoder"),
    Kind("GANModule", "zoo.modules.gan", "gan", marker="generator"),
)
# The components a recipe names by class_path besides networks and likelihoods (zoo.nets, zoo.distributions), which a
# module builds from its config: the allow-list lets a stored config name these.
COMPONENTS = ("zoo.modules.auxiliary.InfoGANHead", "zoo.modules.auxiliary.ACGANHead")
CLASSIFIER = "zoo.nets.classifier.DigitClassifier"  # FID's feature extractor, stored as a weights folder too


def class_path_of(hparams: dict) -> str | None:
    """The kind's class path of a checkpoint's hyper-parameters: its `_class_path`, else the first marker found."""
    return hparams.get("_class_path") or next((k.class_path for k in KINDS if k.marker in hparams), None)


def kind_of(class_path: str) -> Kind | None:
    """The kind of a module's class path in either spelling (zoo.VAEModule, zoo.modules.vae.VAEModule), else None."""
    name = class_path.rpartition(".")[2]
    return next((k for k in KINDS if k.name == name and class_path in (k.class_path, k.defined_at)), None)


def tag_of(class_path: str) -> str:
    """vae, gan or classifier, for a module's class path in either spelling."""
    name = class_path.rpartition(".")[2]
    return next((k.tag for k in KINDS if k.name == name), "classifier")
