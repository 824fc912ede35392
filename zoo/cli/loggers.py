"""Weights & Biases beside the run's TensorBoard files, online when it can be and offline when it cannot.

`lightning fit` adds a `WandbLogger` (project `zoo`, files under the run's folder) to the trainer's loggers
(`--wandb auto|online|offline|off`; `--wandb_project`, `--wandb_log_model` for checkpoint artifacts). In
`auto` mode, `WANDB_MODE` from the environment wins; otherwise, without an API key (`WANDB_API_KEY` or
`wandb login`) or without a connection to the W&B server, the run is recorded offline and one line says
how to upload it later. Nothing prompts.
"""

import netrc
import os
import socket
from urllib.parse import urlparse

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info

DEFAULT_HOST = "https://api.wandb.ai"


def has_api_key() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", DEFAULT_HOST)).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def reachable(timeout: float = 3.0) -> bool:
    url = urlparse(os.environ.get("WANDB_BASE_URL", DEFAULT_HOST))
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def resolve_mode(requested: str) -> tuple[str, str | None]:
    """(wandb mode, the reason it is offline or None)."""
    if requested != "auto":
        return ("disabled" if requested == "off" else requested), None
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"], None
    if not has_api_key():
        return "offline", "no W&B API key (WANDB_API_KEY or `wandb login`)"
    if not reachable():
        return "offline", "the W&B server is unreachable"
    return "online", None


def wandb_logger(mode: str, save_dir: str, project: str = "zoo", log_model: bool | str = False) -> WandbLogger | None:
    mode, reason = resolve_mode(mode)
    if mode == "disabled":
        return None
    if reason:
        rank_zero_info(f"W&B: {reason}, so this run is logged offline under {save_dir}/wandb; upload it later "
                       f"with `wandb sync {save_dir}/wandb/offline-run-*`")
    if mode == "offline" and log_model:
        rank_zero_info("W&B: checkpoints are not uploaded as artifacts offline (log_model ignored)")
        log_model = False
    return WandbLogger(project=project, save_dir=save_dir, log_model=log_model, mode=mode,
                       settings={"silent": True})
