"""Weights from the Hugging Face Hub, offline: an entry naming a repo and revision loads from huggingface_hub's
cache (laid out here as the Hub client leaves it), a file that fails the registry's sha256 is refused and removed,
and `zoo push` uploads what `load_pretrained` then fetches (HfApi replaced by a local stand-in)."""

import dataclasses
import shutil
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest
import torch

import zoo
from tests.conftest import REPO, fill_hf_cache
from zoo.cli.commands import main as zoo_command
from zoo.hub import folders, publish, registry

NAME = "vae_mlp.mnist"
REPO_ID = "zoo-test/vae_mlp.mnist"
REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub_only(tmp_path, monkeypatch):
    """No checkout weights, an empty zoo cache, no URL mirror, the Hub client offline with its cache in tmp_path;
    NAME's entry names REPO_ID at REVISION. Returns the Hub cache folder."""
    cache = tmp_path / "hf"
    monkeypatch.setattr(registry, "REPO_CHECKPOINTS", tmp_path / "not-a-checkout")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "zoo-cache"))
    monkeypatch.delenv("ZOO_WEIGHTS_URL", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    entry = dataclasses.replace(registry.get(NAME), repo_id=REPO_ID, revision=REVISION)
    monkeypatch.setitem(registry.REGISTRY, NAME, entry)
    return cache


def published_files(name: str = NAME) -> dict[str, bytes]:
    return {file: (REPO / "checkpoints" / name / file).read_bytes() for file in (folders.WEIGHTS, folders.CONFIG)}


def test_an_entry_loads_from_the_hub_cache_offline(hub_only):
    snapshot = fill_hf_cache(hub_only, REPO_ID, REVISION, published_files())
    module = zoo.load_pretrained(NAME)
    assert registry.weights_folder(NAME) == snapshot
    reference = folders.load_folder(REPO / "checkpoints" / NAME)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(module.state_dict()[key], value, rtol=0, atol=0)
    assert not (Path(registry.cache_dir()) / NAME).exists()  # the Hub's cache holds it, not the zoo's


def test_a_hub_file_that_fails_its_hash_is_refused_and_removed_from_the_cache(hub_only):
    files = published_files()
    weights = bytearray(files[folders.WEIGHTS])
    weights[-1] ^= 0xFF
    snapshot = fill_hf_cache(hub_only, REPO_ID, REVISION, {**files, folders.WEIGHTS: bytes(weights)})
    blob = (snapshot / folders.WEIGHTS).resolve()
    with pytest.raises(folders.WeightsError, match=f"{REPO_ID}@{REVISION}/model.safetensors: sha256 .* does not match"):
        zoo.load_pretrained(NAME)
    assert not (snapshot / folders.WEIGHTS).exists() and not blob.exists()


def test_offline_without_the_files_cached_says_so(hub_only):
    with pytest.raises(folders.WeightsError, match=f"could not get model.safetensors of {REPO_ID}@{REVISION}"):
        zoo.load_pretrained(NAME)


def test_a_url_mirror_wins_over_the_hub_repo(hub_only, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / NAME
    mirror.mkdir(parents=True)
    for file, data in published_files().items():
        (mirror / file).write_bytes(data)
    monkeypatch.setenv("ZOO_WEIGHTS_URL", mirror.parent.as_uri())
    assert registry.weights_folder(NAME) == registry.cache_dir() / NAME  # the Hub cache is empty: not asked


class FakeHub:
    """HfApi's create_repo / upload_folder, keeping the uploaded files in a folder per (repo, commit)."""

    def __init__(self, remote: Path):
        self.remote, self.calls = remote, []

    def create_repo(self, repo_id, repo_type=None, private=None, exist_ok=False):
        self.calls.append(("create_repo", repo_id, repo_type, exist_ok))

    def upload_folder(self, repo_id, folder_path, repo_type=None, allow_patterns=None, commit_message=None):
        self.calls.append(("upload_folder", repo_id, repo_type, commit_message))
        oid = f"{len(self.calls):040x}"
        target = self.remote / repo_id / oid
        target.mkdir(parents=True)
        for path in Path(folder_path).iterdir():
            if any(Path(path.name).match(pattern) for pattern in allow_patterns or ["*"]):
                shutil.copy(path, target / path.name)
        return SimpleNamespace(oid=oid)


def test_zoo_push_uploads_what_load_pretrained_then_fetches(hub_only, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "to-publish"
    shutil.copytree(REPO / "checkpoints" / NAME, folder)
    (folder / "notes.txt").write_text("not published")
    fake = FakeHub(tmp_path / "remote")
    monkeypatch.setattr(publish, "HfApi", lambda: fake)
    zoo_command(["push", str(folder), REPO_ID])
    revision = capsys.readouterr().out.split('"revision": "')[1].split('"')[0]
    assert [call[0] for call in fake.calls] == ["create_repo", "upload_folder"]
    assert fake.calls[0] == ("create_repo", REPO_ID, "model", True)
    uploaded = fake.remote / REPO_ID / revision
    assert sorted(p.name for p in uploaded.iterdir()) == sorted(["README.md", "config.yaml", "model.safetensors",
                                                                 "samples.png"])
    fill_hf_cache(hub_only, REPO_ID, revision, {p.name: p.read_bytes() for p in uploaded.iterdir()})
    monkeypatch.setitem(registry.REGISTRY, NAME, dataclasses.replace(registry.get(NAME), revision=revision))
    assert zoo.load_pretrained(NAME).sample(2).shape == (2, 1, 28, 28)


def test_push_refuses_a_folder_without_its_card(tmp_path, monkeypatch):
    folder = tmp_path / "bare"
    folder.mkdir()
    for file in (folders.WEIGHTS, folders.CONFIG):
        shutil.copy(REPO / "checkpoints" / NAME / file, folder / file)
    fake = FakeHub(tmp_path / "remote")
    with pytest.raises(folders.WeightsError, match="README.md is missing"):
        publish.push_folder(folder, REPO_ID, api=fake)
    assert fake.calls == []
