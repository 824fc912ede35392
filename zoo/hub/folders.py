"""Zoo weights folders: `model.safetensors` + `config.yaml` (the module's class and init arguments) + a model card.

Nothing here unpickles: weights are safetensors, the config is YAML read with `yaml.safe_load`, and a
Lightning `.ckpt` is read with `torch.load(weights_only=True)`. Files are checked against the sha256
values the registry records before anything is built from them.
"""

import hashlib
import importlib
import json
import pickle
import shutil
import tempfile
from pathlib import Path
from urllib.request import urlopen

import lightning as L
import torch
import yaml
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from zoo import kinds
from zoo.errors import WeightsError, WeightsNotFoundError
from zoo.hub.allowlist import check_config
from zoo.hub.migrations import FORMAT_VERSION, migrate

WEIGHTS, CONFIG, CARD = "model.safetensors", "config.yaml", "README.md"
MAX_FLOAT32_BYTES = 8_000_000  # larger weights are stored in float16 (loading casts back), to stay a few MB
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: a tenth of the time
MODULE_CLASSES = (*(kind.class_path for kind in kinds.KINDS), kinds.CLASSIFIER)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def module_class_path(hparams: dict) -> str:
    """Which zoo module hyper-parameters belong to (LightningCLI stores `_class_path`; else by their names)."""
    class_path = kinds.class_path_of(hparams)
    if class_path not in MODULE_CLASSES:
        raise WeightsError(f"not a zoo module's hyper-parameters (class {class_path!r}); expected one of "
                           f"{MODULE_CLASSES}")
    return class_path


def plain(value):
    """Tuples to lists, recursively, so the config is plain YAML."""
    return json.loads(json.dumps(value))


def save_folder(module: L.LightningModule, folder: str | Path) -> Path:
    """Write `module`'s weights and config into `folder`; returns the weights file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hparams = {k: v for k, v in dict(module.hparams).items() if k != "_instantiator"}
    config = {"class_path": f"zoo.{type(module).__name__}", "format_version": FORMAT_VERSION, "init_args": plain(
        {k: v for k, v in hparams.items() if k != "_class_path"})}
    (folder / CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))
    if hasattr(module, "before_export"):
        module.before_export()
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    if sum(v.numel() * v.element_size() for v in state.values()) > MAX_FLOAT32_BYTES:
        state = {k: v.half() if v.dtype == torch.float32 else v for k, v in state.items()}
    save_file(state, str(folder / WEIGHTS), metadata={"class_path": config["class_path"]})
    return folder / WEIGHTS


def kind_of(path: str | Path) -> str:
    """What a path holds, from its first bytes: "checkpoint" (torch.save's zip or pickle), "safetensors",
    "weights folder", "folder", "missing" or "other"."""
    path = Path(path)
    if path.is_dir():
        return "weights folder" if (path / WEIGHTS).is_file() else "folder"
    if not path.is_file():
        return "missing"
    with open(path, "rb") as file:
        head = file.read(9)
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"  # the header's length (8 bytes, little-endian), then its JSON (reading checks the rest)
    if head.startswith((b"PK\x03\x04", b"\x80")):
        return "checkpoint"  # torch.save: a zip archive, or a pickle (protocol 2+) in the legacy format
    return "other"


def read_checkpoint(path: str | Path) -> dict:
    """A Lightning checkpoint, read with `torch.load(weights_only=True)` and errors that say what is wrong."""
    path = Path(path)
    kind = kind_of(path)
    if kind == "missing":
        raise WeightsNotFoundError(f"checkpoint not found: {path}")
    if kind in ("safetensors", "weights folder"):
        raise WeightsError(f"{path} is a zoo {'weights file' if kind == 'safetensors' else kind}, not a Lightning "
                           f"checkpoint: pass it with --weights (in Python: zoo.hub.folders.load_folder)")
    if kind == "folder":
        found = sorted(str(p) for p in path.rglob("*.ckpt"))[:3]
        raise WeightsError(f"{path} is a folder, not a Lightning checkpoint: pass a .ckpt file"
                           + (f", such as {' or '.join(found)}" if found else ""))
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as error:
        raise WeightsError(f"{path} holds more than tensors and plain values; it is not unpickled "
                           f"(weights_only=True): {str(error).splitlines()[0]}") from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise WeightsError(f"{path} is truncated or corrupted and cannot be read ({str(error).splitlines()[0]})")\
            from error


def read_hyperparameters(path: str | Path, trusted: tuple[str, ...] = ()) -> dict:
    """A checkpoint's hyper-parameters, once checked to name nothing outside the allow-list (or `trusted`)."""
    hparams = read_checkpoint(path).get("hyper_parameters", {})
    check_config(hparams, f"{path} (hyper-parameters)", trusted)
    return hparams


def check_checkpoint_kind(path: str | Path, expected: str, hparams: dict | None = None) -> None:
    """Fail clearly when a checkpoint (its hyper-parameters, read here unless given) belongs to another zoo module
    than `expected` (e.g. zoo.VAEModule)."""
    kind = module_class_path(read_hyperparameters(path) if hparams is None else hparams)
    if kind != expected:
        raise WeightsError(f"{path} is a {kind} checkpoint, not a {expected} one: load it with "
                           f"{kind.split('.')[-1]}.load_from_checkpoint or its own recipe")


def read_migrated_checkpoint(path: str | Path, expected: str, trusted: tuple[str, ...] = ()) -> dict:
    """A checkpoint of the module `expected` (e.g. zoo.VAEModule), read once, its hyper-parameters checked against
    the allow-list (and `trusted`) and the kind and migrated to today's format (zoo.hub.migrations)."""
    checkpoint = read_checkpoint(path)
    hparams = checkpoint.get("hyper_parameters", {})
    check_config(hparams, f"{path} (hyper-parameters)", trusted)
    check_checkpoint_kind(path, expected, hparams)
    migrated = migrate(expected, hparams, checkpoint.get("zoo_format_version", 0), source=str(path))
    return {**checkpoint, "hyper_parameters": migrated}


def export_checkpoint(ckpt_path: str | Path, folder: str | Path, force: bool = False) -> Path:
    """Turn a Lightning `.ckpt` of a zoo module into a weights folder (weights + config). A folder that is not
    empty is refused unless `force`: its files could be another model's (a shipped entry's would fail its hash)."""
    if Path(folder).is_dir() and any(Path(folder).iterdir()) and not force:
        raise WeightsError(f"{folder} is not empty ({', '.join(sorted(p.name for p in Path(folder).iterdir())[:4])}"
                           f"): export into a new folder, or overwrite its files with --force")
    hparams = read_hyperparameters(ckpt_path)
    module_class = import_object(module_class_path(hparams))
    module = module_class.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)
    return save_folder(module, folder)


def import_object(class_path: str):
    module_name, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def check_hash(path: Path, expected: str | None, source: str | None = None) -> None:
    if expected is not None and (actual := sha256_of(path)) != expected:
        raise WeightsError(f"{source or path}: sha256 {actual} does not match the registry's {expected}. The file "
                           f"is corrupted or not the published one; delete it to download it again.")


def load_folder(folder: str | Path, sha256: dict[str, str] | None = None) -> L.LightningModule:
    """Build the module a weights folder describes and load its weights (strict), in eval mode.
    `sha256`: expected hashes of the folder's files by file name, checked before reading them."""
    folder = Path(folder)
    for name in (WEIGHTS, CONFIG):
        if not (folder / name).is_file():
            raise WeightsError(f"{folder} is not a zoo weights folder: {name} is missing")
        check_hash(folder / name, (sha256 or {}).get(name))
    config = read_config(folder)
    try:
        module = import_object(config["class_path"])(**(config.get("init_args") or {}))
    except TypeError as error:  # an init argument the class does not take
        raise WeightsError(f"{folder / CONFIG} does not fit {config['class_path']}: {error}") from error
    load_weights(module, folder / WEIGHTS)
    return module.eval()


def read_config(folder: Path) -> dict:
    """A weights folder's config, checked to name nothing outside the allow-list before anything is imported, its
    init arguments migrated from the folder's format version (none written: 0) to today's."""
    try:
        config = yaml.load((folder / CONFIG).read_text(), Loader=SAFE_LOADER)
    except yaml.YAMLError as error:
        raise WeightsError(f"{folder / CONFIG} is not valid YAML: {str(error).splitlines()[0]}") from error
    check_config(config, str(folder / CONFIG))
    class_path = config.get("class_path") if isinstance(config, dict) else None
    if class_path not in MODULE_CLASSES or not isinstance(config.get("init_args", {}), dict):
        raise WeightsError(f"{folder / CONFIG}: class_path must be one of {MODULE_CLASSES}, with init_args a "
                           f"mapping; got {class_path!r}")
    if class_path == kinds.CLASSIFIER:  # a network, not a module: no options to migrate
        return config
    init_args = migrate(class_path, config.get("init_args") or {}, config.get("format_version", 0),
                        str(folder / CONFIG))
    return {**config, "format_version": FORMAT_VERSION, "init_args": init_args}


def read_safetensors(path: str | Path, metadata_only: bool = False):
    """A safetensors file's tensors (or its metadata), or a WeightsError that says it is truncated or corrupted."""
    try:
        if metadata_only:
            with safe_open(str(path), "pt") as file:
                return file.metadata() or {}
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path} is truncated or corrupted and cannot be read ({str(error).splitlines()[0]})")\
            from error


def load_weights(module: torch.nn.Module, path: str | Path) -> None:
    """Load a safetensors file into `module`, every key matched both ways."""
    state = read_safetensors(path)
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise WeightsError(f"{path} does not fit {type(module).__name__}: missing {sorted(missing)[:5]}, "
                           f"unexpected {sorted(unexpected)[:5]}")


def download_folder(base_url: str, folder: str | Path, sha256: dict[str, str]) -> Path:
    """Fetch `<base_url>/<file>` for the weights and config into `folder`, each checked before it is kept."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (WEIGHTS, CONFIG):
        url = f"{base_url.rstrip('/')}/{name}"
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as partial:
            try:
                with urlopen(url, timeout=60) as response:
                    shutil.copyfileobj(response, partial)
            except OSError as error:
                Path(partial.name).unlink(missing_ok=True)
                raise WeightsError(f"could not download {url}: {error}") from error
        try:
            check_hash(Path(partial.name), sha256.get(name), source=url)
        except WeightsError:
            Path(partial.name).unlink(missing_ok=True)
            raise
        Path(partial.name).replace(folder / name)
    return folder
