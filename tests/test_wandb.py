"""A short fit logs to W&B offline: the run's records hold the config, the metrics and the images."""

import struct

import pytest
import wandb
from wandb.proto import wandb_internal_pb2

from tests.conftest import REPO
from zoo.cli import loggers
from zoo.cli.lightning_cli import main

BLOCK = 32768  # a .wandb file is a LevelDB-style log of protobuf Records in 32 KiB blocks


def wandb_records(path):
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    position, pending = 7, b""
    while position + 7 <= len(data):
        room = BLOCK - position % BLOCK
        if room < 7:  # block trailer
            position += room
            continue
        _, length, kind = struct.unpack("<IHB", data[position: position + 7])
        if kind == 0 and length == 0:
            break
        pending += data[position + 7: position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


@pytest.mark.slow
def test_fit_without_api_key_logs_offline_config_metrics_and_images(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc: no stored key
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    fit = main(["fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--trainer.default_root_dir",
                str(tmp_path), "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "3",
                "--trainer.limit_val_batches", "1", "--trainer.log_every_n_steps", "1"])
    fit.trainer.loggers[-1].experiment.finish()
    wandb.teardown()  # as at a script's exit: the service process closes the run's file before it stops
    assert any("logged offline" in r.message and "wandb sync" in r.message for r in caplog.records)
    runs = list((tmp_path / "lightning_logs" / "version_0" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    config, history = set(), set()
    for record in wandb_records(next(runs[0].glob("run-*.wandb"))):
        kind = record.WhichOneof("record_type")
        if kind == "config":
            config |= {update.key for update in record.config.update}
        if kind == "run":  # config logged before the run record was written travels inside it
            config |= {update.key for update in record.run.config.update}
        if kind == "history":
            history |= {item.key or "/".join(item.nested_key) for item in record.history.item}
    assert {"latent_dim", "encoder", "objective"} <= config
    assert {"train/loss", "val/elbo", "val/kl", "train/elbo_epoch"} <= history
    assert {"images/samples/captions", "images/reconstructions/captions", "images/interpolations/captions"} <= history
    pictures = {p.name.split("_")[0] for p in (runs[0] / "files" / "media" / "images").rglob("*.png")}
    assert pictures == {"samples", "reconstructions", "interpolations"}


def test_wandb_mode_follows_the_environment_and_the_key(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert loggers.resolve_mode("auto") == ("disabled", None)
    assert loggers.resolve_mode("off") == ("disabled", None)
    monkeypatch.delenv("WANDB_MODE")
    assert loggers.resolve_mode("auto")[0] == "offline"  # no key
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setattr(loggers, "reachable", lambda timeout=3.0: False)
    assert loggers.resolve_mode("auto") == ("offline", "the W&B server is unreachable")
    monkeypatch.setattr(loggers, "reachable", lambda timeout=3.0: True)
    assert loggers.resolve_mode("auto") == ("online", None)
