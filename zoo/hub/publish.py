"""Publishing a weights folder on the Hugging Face Hub: its model card, with the Hub's metadata header, and
the upload (`zoo push`). The Hub's own client does both: `ModelCard`/`ModelCardData` write the YAML front matter
(library_name, tags, metrics) that the Hub indexes, and `HfApi` creates the repo and uploads (its token:
`HF_TOKEN` or `hf auth login`). The commit it returns is the revision to pin in `zoo/hub/pretrained.json`.
"""

from pathlib import Path

import yaml
from huggingface_hub import HfApi, ModelCard, ModelCardData

from zoo import kinds
from zoo.hub import folders

PUBLISHED = [folders.WEIGHTS, folders.CONFIG, folders.CARD, "samples.png"]


def model_card(folder: str | Path, source: str, results: dict | None = None) -> ModelCard:
    """The card of an exported folder: what the module is, how to load it, and the measured test metrics
    (`results`: a `test_results.json` that `lightning test` wrote) with their protocol."""
    folder = Path(folder)
    config = yaml.safe_load((folder / folders.CONFIG).read_text())
    module = config["class_path"].rpartition(".")[2]  # a module kind of zoo.kinds
    networks = {key: value["class_path"] for key, value in config.get("init_args", {}).items()
                if isinstance(value, dict) and "class_path" in value}
    metrics = {key.removeprefix("test/"): value for key, value in (results or {}).get("metrics", {}).items()}
    lines = [f"# {folder.name}", "", f"A zoo `{module}` exported from `{source}` with `zoo export`.", "",
             *[f"- {key}: `{value}`" for key, value in networks.items()], "",
             "Load it with `zoo.hub.folders.load_folder(folder)` (no pickle), or by name with `zoo.load_pretrained` "
             "once `zoo/hub/pretrained.json` lists it with its sha256, Hub repo and revision.", ""]
    if metrics:
        lines += ["| test metric | value |", "|---|---|", *[f"| `{k}` | {v:.4g} |" for k, v in metrics.items()], "",
                  "Protocol:", "", "```yaml", yaml.safe_dump(results.get("protocols", {}), sort_keys=False).strip(),
                  "```", ""]
    files = (folders.WEIGHTS, folders.CONFIG)
    lines += ["sha256:", "", *[f"- `{name}`: `{folders.sha256_of(folder / name)}`" for name in files]]
    kind = kinds.tag_of(module)
    return ModelCard(hub_header(kind, list(metrics)) + "\n".join(lines) + "\n")


def hub_header(kind: str, metrics: list[str]) -> str:
    """The YAML front matter the Hub reads from a model card: library, tags (`kind`: vae, gan, ...), metrics."""
    data = ModelCardData(library_name="zoo", tags=["zoo", "pytorch-lightning", "safetensors", kind],
                         metrics=sorted(metrics) or None)
    return f"---\n{data.to_yaml()}\n---\n\n"


def push_folder(folder: str | Path, repo_id: str, private: bool | None = None, message: str | None = None,
                api: HfApi | None = None) -> str:
    """Upload a weights folder's published files to the model repo `repo_id` (created if missing); returns the
    commit hash, the `revision` to pin in the registry."""
    folder = Path(folder)
    for name in (folders.WEIGHTS, folders.CONFIG, folders.CARD):
        if not (folder / name).is_file():
            raise folders.WeightsError(f"{folder} is not a publishable zoo weights folder: {name} is missing "
                                   f"(`zoo export` writes all three)")
    api = api or HfApi()
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                               allow_patterns=PUBLISHED, commit_message=message or f"zoo push {folder.name}")
    return commit.oid
