"""The registry and weights folders: every pretrained entry loads (hash-checked) and samples; exports, downloads
and hash mismatches behave; torch.hub and `lightning test --weights` reach the same weights."""

import json
import shutil

import pytest
import torch
from huggingface_hub import ModelCard

import zoo
from tests.conftest import REPO
from zoo.cli.commands import main as zoo_command
from zoo.cli.lightning_cli import main
from zoo.hub import folders, registry

PRETRAINED = registry.list_models(pretrained=True)


def test_registry_lists_by_pattern_and_weights():
    assert len(PRETRAINED) >= 13
    assert set(zoo.list_models("*.mnist")) >= {"vae_mlp.mnist", "dcgan.mnist", "digit_classifier.mnist"}
    assert zoo.list_models("gan_mlp.*") == ["gan_mlp.grid", "gan_mlp.mnist", "gan_mlp.ring"]
    assert zoo.list_models(pretrained=False) == []
    for name in zoo.list_models():
        entry = registry.get(name)
        assert entry.recipe is None or (REPO / "configs" / entry.recipe).is_file(), name
    with pytest.raises(KeyError, match="unknown zoo entry 'vae.nowhere'"):
        zoo.load_pretrained("vae.nowhere")


@pytest.mark.parametrize("name", [n for n in PRETRAINED if registry.get(n).recipe])
def test_every_pretrained_entry_loads_and_samples(name):
    module = zoo.load_pretrained(name)
    assert not module.training
    num_classes = module.hparams.get("num_classes", 0)
    labels = torch.arange(4) % num_classes if num_classes else None
    samples = module.sample(4, labels=labels)
    assert torch.isfinite(samples).all()
    if samples.dim() == 4:
        assert samples.shape == (4, *module.hparams.image_shape)
    weights = registry.weights_folder(name) / folders.WEIGHTS
    stored = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    assert weights.stat().st_size < 1.01 * stored + 1e5  # each tensor once, nothing else of size
    assert weights.stat().st_size < 5e7  # MNIST models: a few MB; InfoGAN's paper-sized players and EMA, 40 MB


def test_the_digit_classifier_entry_reads_digits_it_never_saw():
    """On scikit-learn's 8x8 digits upsampled to 28x28 (another hand, another scanner, no download) it is far above
    chance: 0.61 when this test was written; an untrained network gives about 0.1."""
    from zoo.data import Digits

    net = zoo.load_pretrained("digit_classifier.mnist")
    digits = Digits()
    digits.setup("test")
    images, labels = digits.test_set[:]
    with torch.no_grad():
        logits = net(images.float() / 255)
    assert logits.shape == (len(labels), 10)
    assert (logits.argmax(1) == labels).float().mean() > 0.5


@pytest.fixture
def published(tmp_path):
    """A copy of one entry's folder, standing in for its download location."""
    name = "vae_mlp.mnist"
    source = tmp_path / "published" / name
    shutil.copytree(registry.weights_folder(name), source)
    return name, source


def test_a_weights_file_that_does_not_match_its_hash_is_refused(published, tmp_path):
    name, folder = published
    data = bytearray((folder / folders.WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (folder / folders.WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(folders.WeightsError, match="does not match the registry's"):
        folders.load_folder(folder, registry.get(name).sha256)


def test_missing_weights_are_downloaded_from_a_url_and_checked(published, tmp_path, monkeypatch):
    name, folder = published
    monkeypatch.setattr(registry, "REPO_CHECKPOINTS", tmp_path / "not-a-checkout")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ZOO_WEIGHTS_URL", (tmp_path / "published").as_uri())
    module = zoo.load_pretrained(name)
    assert (tmp_path / "cache" / "checkpoints" / name / folders.WEIGHTS).is_file()
    assert module.sample(2).shape == (2, 1, 28, 28)
    (folder / folders.CONFIG).write_text((folder / folders.CONFIG).read_text() + "\n# changed\n")
    shutil.rmtree(tmp_path / "cache")
    with pytest.raises(folders.WeightsError, match="config.yaml: sha256 .* does not match"):
        zoo.load_pretrained(name)
    assert not (tmp_path / "cache" / "checkpoints" / name / folders.CONFIG).exists()  # nothing bad is kept
    monkeypatch.delenv("ZOO_WEIGHTS_URL")
    with pytest.raises(FileNotFoundError, match="names no Hub repo and no URL is configured"):
        zoo.load_pretrained(name)


def test_a_config_naming_another_class_is_refused(published):
    _, folder = published
    (folder / folders.CONFIG).write_text("class_path: os.system\ninit_args: {command: 'echo hi'}\n")
    with pytest.raises(folders.WeightsError, match="class_path names 'os.system'.*nothing was imported"):
        folders.load_folder(folder)
    (folder / folders.CONFIG).write_text("class_path: zoo.nets.MLPEncoder\ninit_args: {}\n")  # allowed, no module
    with pytest.raises(folders.WeightsError, match="class_path must be one of"):
        folders.load_folder(folder)


@pytest.mark.slow
def test_export_turns_a_lightning_checkpoint_into_a_loadable_folder(tmp_path, capsys):
    fit = main(["fit", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--trainer.default_root_dir",
                str(tmp_path), "--trainer.max_steps", "3", "--trainer.limit_val_batches", "1"])
    checkpoint = fit.trainer.checkpoint_callback.last_model_path
    zoo_command(["export", checkpoint, str(tmp_path / "exported")])
    assert "sha256" in capsys.readouterr().out
    exported = folders.load_folder(tmp_path / "exported")
    original = zoo.VAEModule.load_from_checkpoint(checkpoint, weights_only=True).eval()
    x = torch.rand(3, 1, 28, 28).round()
    torch.testing.assert_close(exported.reconstruct(x), original.reconstruct(x), rtol=0, atol=0)
    test = main(["test", "--config", str(REPO / "configs/vae/mlp_digits.yaml"), "--weights",
                 str(tmp_path / "exported"), "--trainer.default_root_dir", str(tmp_path), "--trainer.logger", "false",
                 "--model.test_nll.num_samples", "5", "--trainer.callbacks.num_samples", "100"])
    torch.testing.assert_close(test.model.decoder.net[0].weight, original.decoder.net[0].weight)
    card = ModelCard.load(tmp_path / "exported" / folders.CARD)  # the Hub's own reader of the metadata header
    assert card.data.library_name == "zoo" and "vae" in card.data.tags and card.data.metrics is None
    assert f"`{folders.WEIGHTS}`: `{folders.sha256_of(tmp_path / 'exported' / folders.WEIGHTS)}`" in card.text
    results = tmp_path / "test_results.json"
    zoo_command(["export", checkpoint, str(tmp_path / "with-results"), "--results", str(results)])
    card = ModelCard.load(tmp_path / "with-results" / folders.CARD)
    measured = json.loads(results.read_text())["metrics"]
    assert card.data.metrics == sorted(key.removeprefix("test/") for key in measured) and "elbo" in card.data.metrics
    assert f"| `elbo` | {measured['test/elbo']:.4g} |" in card.text


def test_torch_hub_loads_an_entry_from_the_repository():
    module = torch.hub.load(str(REPO), "vae_mlp.mnist", source="local", trust_repo=True)
    assert isinstance(module, zoo.VAEModule) and not module.training


def test_zoo_list_prints_the_entries(capsys):
    zoo_command(["list", "*.ring", "--pretrained"])
    assert "gan_mlp.ring" in capsys.readouterr().out


def test_a_kind_loads_its_entries_and_saved_folders_by_name_and_refuses_another_kind(tmp_path):
    from zoo import GANModule, VAEModule
    from zoo.errors import InputError

    vae = VAEModule.from_pretrained("vae_mlp.mnist")
    assert isinstance(vae, VAEModule) and not vae.training
    with pytest.raises(InputError, match="holds a VAEModule, not a GANModule"):
        GANModule.from_pretrained("vae_mlp.mnist")
    vae.save_pretrained(tmp_path / "mine")
    again = VAEModule.from_pretrained(tmp_path / "mine")
    torch.manual_seed(0)
    first = vae.sample(8)
    torch.manual_seed(0)
    assert torch.equal(again.sample(8), first)
    with pytest.raises(InputError, match="holds a VAEModule, not a GANModule"):
        GANModule.from_pretrained(str(tmp_path / "mine"))
