"""An entry's weights folder from its Hugging Face Hub repo, the way timm and diffusers fetch theirs.

`huggingface_hub` does the fetching, so its cache (`HF_HUB_CACHE`, default `~/.cache/huggingface/hub`), its
offline mode (`HF_HUB_OFFLINE=1`: the cache only) and its token (`HF_TOKEN` or `hf auth login`, for private
repos) all apply. Each file is checked against the registry's sha256 before it is used; one that fails is
removed from the cache and refused. Nothing is unpickled: the files are safetensors and YAML.
"""

from pathlib import Path

from zoo.hub import folders


def hub_folder(repo_id: str, revision: str | None, sha256: dict[str, str]) -> Path:
    """The cached snapshot folder holding the repo's weights and config at `revision` (pin a commit hash)."""
    from huggingface_hub import hf_hub_download

    import zoo

    source = f"{repo_id}@{revision or 'main'}"
    for name in (folders.WEIGHTS, folders.CONFIG):
        try:
            path = Path(hf_hub_download(repo_id, name, revision=revision, library_name="zoo",
                                        library_version=zoo.__version__))
        except OSError as error:  # not found, offline without it in the cache, no connection, no access
            raise folders.WeightsError(f"could not get {name} of {source} from the Hugging Face Hub: {error}") \
                from error
        try:
            folders.check_hash(path, sha256.get(name), source=f"{source}/{name}")
        except folders.WeightsError:
            forget(path)
            raise
    return path.parent


def forget(path: Path) -> None:
    """Remove a cached file: the snapshot's link and the blob it points to."""
    blob = path.resolve()
    path.unlink(missing_ok=True)
    blob.unlink(missing_ok=True)
