"""Whether stored weights fit the model a recipe builds, said before they are loaded.

Configs are compared in their `{"class_path", "init_args"}` form (a weights folder's config.yaml, a checkpoint's
hyper-parameters, a module's hparams). Classes are compared by name, since `zoo.nets.MLPEncoder` and
`zoo.nets.mlp.MLPEncoder` are one class; options only where both configs give them.
"""

from zoo.errors import WeightsError

# what decides the shapes of the weights (the rest, such as optimizers or the objective, only decides training)
ARCHITECTURE = ("encoder", "decoder", "likelihood", "generator", "discriminator", "image_shape", "latent_dim",
                "num_classes", "pac", "ema_decay", "num_codes", "code_dim")
HEAD_SHAPE = ("categories", "continuous", "learn_variance")  # a GAN head's options that decide D's outputs
# a VAEPrior's options that decide the weights: the pseudo-inputs, the second stochastic layer's networks
PRIOR_SHAPE = ("kind", "num_pseudo_inputs", "top_latent_dim", "top_hidden", "top_activation", "hierarchy")


def class_name(class_path) -> str:
    return str(class_path).rpartition(".")[2]


def differences(stored, built, where: str = "", classes_only: bool = False) -> list[str]:
    """`where: stored vs built` for each place where two configs disagree."""
    if isinstance(stored, dict) and isinstance(built, dict) and "class_path" in stored and "class_path" in built:
        if class_name(stored["class_path"]) != class_name(built["class_path"]):
            return [f"{where or 'class'}: {class_name(stored['class_path'])} vs {class_name(built['class_path'])}"]
        return differences(stored.get("init_args") or {}, built.get("init_args") or {}, where, classes_only)
    if isinstance(stored, dict) and isinstance(built, dict):
        return [found for key in stored.keys() & built.keys()
                for found in differences(stored[key], built[key], f"{where}.{key}".lstrip("."), classes_only)]
    if classes_only or plain(stored) == plain(built):
        return []
    return [f"{where}: {plain(stored)} vs {plain(built)}"]


def plain(value):
    return list(map(plain, value)) if isinstance(value, list | tuple) else value


def architecture(config: dict) -> dict:
    """The parts of a module's config that decide the shapes of its weights (ema_decay: whether there is an EMA)."""
    given = config.get("init_args") or {}
    init_args = {key: given[key] for key in ARCHITECTURE if key in given}
    if "ema_decay" in init_args:
        init_args["ema_decay"] = "an EMA generator" if init_args["ema_decay"] is not None else "no EMA generator"
    if "prior" in given:  # a VAE's VampPrior pseudo-inputs and second layer's networks; a VQ-VAE's code prior network
        prior = {"kind": given["prior"]} if isinstance(given["prior"], str) else given["prior"]
        init_args["prior"] = prior if not isinstance(prior, dict) or "class_path" in prior else \
            {key: value for key, value in prior.items() if key in PRIOR_SHAPE}
    if "head" in given:  # the discriminator's extra outputs: InfoGAN's Q, ACGAN's class head
        head = given["head"]
        init_args["head"] = "none" if head is None else \
            {"class_path": head["class_path"],
             "init_args": {key: value for key, value in (head.get("init_args") or {}).items() if key in HEAD_SHAPE}}
    return {"class_path": config.get("class_path"), "init_args": init_args}


def check_fits(stored: dict, built: dict, source: str, own_recipe: str | None, classes_only: bool = False) -> None:
    """Refuse weights whose config (`stored`) differs from the recipe's model (`built`) where it matters."""
    found = differences(architecture(stored), architecture(built), classes_only=classes_only)
    if found:
        recipe = f"its own recipe is configs/{own_recipe}" if own_recipe else \
            "test it with the recipe it was trained with (its run folder's config.yaml)"
        raise WeightsError(f"{source} does not fit the model this recipe builds ({'; '.join(found[:4])}, stored "
                           f"vs recipe): {recipe}")
