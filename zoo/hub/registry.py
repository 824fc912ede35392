"""The zoo's entries, named `arch.dataset`: each ties a recipe in `configs/` to a weights folder.

The entries and their files' sha256 live in `zoo/hub/pretrained.json`, written by
`zoo release` when the weights are exported. Weights are looked up in the source
checkout's `checkpoints/<name>/` (a wheel ships the digit classifier's), then in
`$ZOO_CACHE_DIR/checkpoints/<name>/` (default `~/.cache/zoo`), then downloaded: from `$ZOO_WEIGHTS_URL/<name>/`
when that is set (a mirror for every entry), else from the entry's Hugging Face Hub repo at its pinned
revision (`zoo.hub.download`, into the Hub's cache), else from the entry's URL. Every file is sha256-checked.

    zoo.list_models("vae*", pretrained=True)
    vae = zoo.load_pretrained("vae_mlp.mnist")
    images = vae.sample(16)
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.errors import InputError, UnknownEntryError, WeightsNotFoundError
from zoo.hub import recipes

if TYPE_CHECKING:  # listing entries needs no torch: `zoo list` starts in well under a second
    import lightning as L
    import torch

REPO_CHECKPOINTS = recipes.CHECKPOINTS
TABLE = Path(__file__).resolve().parent / "pretrained.json"


@dataclass(frozen=True)
class Entry:
    name: str  # arch.dataset
    recipe: str  # path under configs/
    description: str
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of the published file
    url: str | None = None  # base URL of the folder's files
    repo_id: str | None = None  # Hugging Face Hub model repo holding the files, e.g. "owner/vae_mlp.mnist"
    revision: str | None = None  # the repo's commit the sha256 values were taken from (a hash, not a branch)
    looks_shortfall: dict[str, str] | None = None  # criterion -> figure: where sample() fails the looks test

    @property
    def pretrained(self) -> bool:
        return bool(self.sha256)


REGISTRY: dict[str, Entry] = {}


def register(entry: Entry) -> Entry:
    if "." not in entry.name:
        raise ValueError(f"zoo names are arch.dataset, got {entry.name!r}")
    REGISTRY[entry.name] = entry
    return entry


def list_models(pattern: str = "*", pretrained: bool | None = None) -> list[str]:
    """Registered names matching the shell-style `pattern`; `pretrained` keeps only entries with (True) or
    without (False) published weights."""
    return sorted(name for name, entry in REGISTRY.items()
                  if fnmatch.fnmatch(name, pattern) and (pretrained is None or entry.pretrained == pretrained))


def cache_dir() -> Path:
    return Path(os.environ.get("ZOO_CACHE_DIR", Path.home() / ".cache" / "zoo")) / "checkpoints"


def weights_folder(name: str, download: bool = True) -> Path:
    """The local folder of an entry's weights, downloaded first if it is nowhere on disk."""
    from zoo.hub import folders
    from zoo.hub.download import hub_folder

    entry = get(name)
    if not entry.pretrained:
        raise UnknownEntryError(f"{name!r} has no published weights; entries with weights: "
                                f"{', '.join(list_models(pretrained=True))}")
    for folder in (REPO_CHECKPOINTS / name, cache_dir() / name):
        if (folder / folders.WEIGHTS).is_file() and (folder / folders.CONFIG).is_file():
            return folder
    base = os.environ.get("ZOO_WEIGHTS_URL")
    url = f"{base.rstrip('/')}/{name}" if base else entry.url
    if download and entry.repo_id and not base:
        return hub_folder(entry.repo_id, entry.revision, entry.sha256)
    if not download or not url:
        raise WeightsNotFoundError(f"weights of {name!r} are not on disk ({REPO_CHECKPOINTS / name}, "
                                   f"{cache_dir() / name}), the entry names no Hub repo and no URL is configured: "
                                   f"set ZOO_WEIGHTS_URL")
    return folders.download_folder(url, cache_dir() / name, entry.sha256)


def load_pretrained(name: str, device: str | torch.device | None = None, dtype: str | torch.dtype | None = None,
                    map_location: str | torch.device | None = None) -> L.LightningModule:
    """The entry's module with its published weights (sha256-checked), in eval mode, on `device` (a torch.device
    or a string such as "cpu" or "cuda:0"; `map_location` is another name for it, as in torch.load; default: the
    CPU), in `dtype` (default: the weights' float32). A device this machine lacks is one clear InputError."""
    from zoo.hub import folders

    if device is not None and map_location is not None and str(device) != str(map_location):
        raise InputError(f"load_pretrained: device={device!r} and map_location={map_location!r} disagree: give one")
    entry = get(name)
    return placed(folders.load_folder(weights_folder(name), entry.sha256),
                  device if device is not None else map_location, dtype)


def placed(module: L.LightningModule, device=None, dtype=None) -> L.LightningModule:
    """The module on `device` (default: the CPU) in `dtype` (default: as it is), each checked first."""
    from zoo.modules.inputs import check_device, check_dtype

    return module.to(device=check_device("cpu" if device is None else device),
                     dtype=None if dtype is None else check_dtype(dtype))


def get(name: str) -> Entry:
    if name not in REGISTRY:
        raise UnknownEntryError(f"unknown zoo entry {name!r}; {known_names(name)}")
    return REGISTRY[name]


def known_names(name: str) -> str:
    """The registered names, those like `name` (a mistyped name or pattern) first, for an error message."""
    names = list_models()
    stem = name.strip("*?")
    close = [n for n in names if stem and n.startswith(stem)] + difflib.get_close_matches(name, names, n=3)
    close = list(dict.fromkeys(close))
    return (f"did you mean {' or '.join(close)}? " if close else "") + \
        f"Known entries: {', '.join(close + [n for n in names if n not in close])}"


for _row in json.loads(TABLE.read_text()) if TABLE.is_file() else []:
    register(Entry(**_row))
