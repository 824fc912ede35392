"""InfoGAN and ACGAN by value: the mutual-information term against its formula on fixed tensors, both players'
total losses against a hand computation with linear players, Hungarian clustering accuracy, the Q head's share of
the discriminator's body, ACGAN's class-CE gradient into the generator, the asked-class accuracy, and the recipes
fitting, checkpointing, reloading and testing."""

import itertools
import json
from functools import partial
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from scipy.special import logsumexp
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from tests.conftest import REPO
from zoo import GANModule
from zoo.callbacks import AskedClassAccuracy
from zoo.cli.lightning_cli import main
from zoo.data import MNIST
from zoo.errors import InputError, WeightsError
from zoo.hub.compatibility import check_fits
from zoo.metrics.clustering import ClusteringAccuracy, clustering_accuracy
from zoo.modules.auxiliary import ACGANHead, InfoGANHead
from zoo.nets import ConvDecoder, ConvEncoder
from zoo.nets.conditioning import append_one_hot
from zoo.nets.infogan import InfoGANDiscriminator


# --- hand formulas (numpy) ------------------------------------------------------------------------------------------
def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """-mean_i log softmax(logits_i)[target_i]."""
    return float(np.mean(logsumexp(logits, axis=1) - logits[np.arange(len(targets)), targets]))


def gaussian_nll(mean: np.ndarray, std: np.ndarray, x: np.ndarray) -> float:
    """-mean_i sum_j log N(x_ij; mean_ij, std_ij^2), the density written out."""
    density = np.exp(-((x - mean) ** 2) / (2 * std**2)) / np.sqrt(2 * np.pi * std**2)
    return float(np.mean(-np.log(density).sum(axis=1)))


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# --- L_I on fixed tensors -------------------------------------------------------------------------------------------
Q_OUT = np.array([[2.0, -1.0, 0.5, 0.3, -0.4, 0.1, -0.2],  # 3 category logits, 2 means, 2 log standard deviations
                  [-0.5, 0.2, 1.5, -0.8, 0.9, -0.3, 0.4],
                  [0.1, 1.1, -0.7, 0.0, 0.6, 0.2, -0.5]])
CATEGORIES = np.array([0, 2, 1])
CODES = np.array([[0.5, -0.9], [-0.2, 0.7], [0.95, 0.1]])  # continuous codes, the last 2 entries of z
NOISE = np.array([[0.3], [-1.2], [0.8]])


@pytest.mark.parametrize("learn_variance", [False, True])
def test_information_loss_is_cross_entropy_plus_lambda_gaussian_nll(learn_variance):
    head = InfoGANHead(0, NOISE.shape[1] + 2, categories=3, continuous=2, weight=1.0, continuous_weight=0.1,
                       learn_variance=learn_variance)  # (num_classes, latent_dim), as GANModule builds it
    q = Q_OUT if learn_variance else Q_OUT[:, :5]
    assert head.size == q.shape[1]
    z = torch.from_numpy(np.concatenate([NOISE, CODES], axis=1))
    loss, logs = head.loss(torch.from_numpy(q), torch.from_numpy(CATEGORIES), z)
    std = np.exp(Q_OUT[:, 5:]) if learn_variance else np.ones((3, 2))  # sigma = 1 when not learned
    ce, nll = cross_entropy(Q_OUT[:, :3], CATEGORIES), gaussian_nll(Q_OUT[:, 3:5], std, CODES)
    assert logs["q_cross_entropy"].item() == pytest.approx(ce, rel=1e-12)
    assert logs["q_gaussian_nll"].item() == pytest.approx(nll, rel=1e-12)
    assert loss.item() == pytest.approx(1.0 * ce + 0.1 * nll, rel=1e-12)
    # L_I = H(c) + H(c') - CE - NLL: c uniform on 3 categories, c' uniform on [-1, 1]^2 (density 1/4)
    assert logs["mi_lower_bound"].item() == pytest.approx(np.log(3) + np.log(4) - ce - nll, rel=1e-12)


# --- both players' totals with linear players, by hand --------------------------------------------------------------
REAL = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.5], [0.3, -0.7]])
REAL_LABELS = torch.tensor([2, 0, 1, 2])


def seeded(shape, seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 0.7


class LinearGenerator(nn.Module):
    """x = M [z, one-hot(c)]: outputs the test computes by hand."""

    def __init__(self, image_shape, latent_dim, num_classes=0):
        super().__init__()
        self.num_classes = num_classes
        self.weight = nn.Parameter(seeded((image_shape[0], latent_dim + num_classes), 1))

    def forward(self, z, labels=None):
        return append_one_hot(z, labels, self.num_classes) @ self.weight.T


class LinearDiscriminator(nn.Module):
    """(logit, auxiliary outputs) = W x + b."""

    def __init__(self, image_shape, out_features, num_classes=0):
        super().__init__()
        self.num_classes, self.out_features = num_classes, out_features
        self.weight = nn.Parameter(seeded((out_features, image_shape[0]), 2))
        self.bias = nn.Parameter(seeded((out_features,), 3))

    def forward(self, x, labels=None):
        return x @ self.weight.T + self.bias


class RecordingGAN(GANModule):
    """Records every loss it backpropagates and every latent code and category it draws while training (float32:
    the by-hand values in float64 agree to about 1e-6)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.losses, self.latents, self.categories = [], [], []

    def manual_backward(self, loss, *args, **kwargs):
        self.losses.append(loss.item())
        return super().manual_backward(loss, *args, **kwargs)

    def draw_latents(self, n, generator=None):
        z = super().draw_latents(n, generator)
        if hasattr(self, "latents") and generator is None:
            self.latents.append(z.detach().numpy().copy())
        return z

    def draw_categories(self, n):
        c = super().draw_categories(n)
        self.categories.append(None if c is None else c.numpy().copy())
        return c


def one_round(objective: str = "non_saturating", **kwargs) -> RecordingGAN:
    """One discriminator step and one generator step of frozen linear players (learning rate 0) on REAL."""
    frozen = partial(torch.optim.SGD, lr=0.0)
    torch.manual_seed(0)  # the latents drawn: a fixed draw, so the float32 tolerances hold on every run
    gan = RecordingGAN(LinearGenerator, LinearDiscriminator, image_shape=(2,), latent_dim=4, objective=objective,
                       output_activation="identity", generator_optimizer=frozen, discriminator_optimizer=frozen,
                       **kwargs)
    trainer = L.Trainer(max_steps=2, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(gan, DataLoader(TensorDataset(REAL, REAL_LABELS), batch_size=len(REAL)))
    assert len(gan.losses) == 2  # the discriminator's total, then the generator's
    return gan


def generated(gan, z: np.ndarray, classes: np.ndarray, num_classes: int) -> np.ndarray:
    return np.concatenate([z, np.eye(num_classes)[classes]], axis=1) @ gan.generator.weight.detach().double().numpy().T


def discriminated(gan, x: np.ndarray) -> np.ndarray:
    return x @ gan.discriminator.weight.detach().double().numpy().T + gan.discriminator.bias.detach().double().numpy()


def test_infogan_totals_are_adversarial_plus_lambda_times_the_information_loss():
    lam, lam_continuous = 1.0, 0.1
    gan = one_round(head=partial(InfoGANHead, categories=3, continuous=2, weight=lam, continuous_weight=lam_continuous))
    assert gan.discriminator.out_features == 1 + 3 + 2 and gan.discriminator.num_classes == 0  # logit, Q(c), Q(c')
    assert gan.generator.num_classes == 3
    real_logits = discriminated(gan, REAL.numpy())[:, 0]
    (z_d, z_g), (c_d, c_g) = gan.latents, gan.categories

    def info_loss(out, z, c):
        return lam * cross_entropy(out[:, 1:4], c) + lam_continuous * gaussian_nll(out[:, 4:6], np.ones((len(z), 2)),
                                                                                    z[:, 2:])

    fake_d = discriminated(gan, generated(gan, z_d, c_d, 3))  # the discriminator step's fakes
    d_adversarial = softplus(-real_logits).mean() + softplus(fake_d[:, 0]).mean()
    assert gan.losses[0] == pytest.approx(d_adversarial + info_loss(fake_d, z_d, c_d), rel=1e-5)
    fake_g = discriminated(gan, generated(gan, z_g, c_g, 3))  # the generator step's, freshly drawn
    g_adversarial = softplus(-fake_g[:, 0]).mean()
    assert gan.losses[1] == pytest.approx(g_adversarial + info_loss(fake_g, z_g, c_g), rel=1e-5)
    assert info_loss(fake_g, z_g, c_g) > 0.05 * g_adversarial  # the term is not negligible in the check


def test_acgan_totals_add_the_class_cross_entropy_real_and_fake_for_d_fake_for_g():
    weight = 0.7
    gan = one_round(num_classes=3, head=partial(ACGANHead, weight=weight))
    assert gan.discriminator.out_features == 1 + 3 and gan.discriminator.num_classes == 0  # predicts, not given
    labels = REAL_LABELS.numpy()
    real = discriminated(gan, REAL.numpy())
    z_d, z_g = gan.latents
    fake_d, fake_g = (discriminated(gan, generated(gan, z, labels, 3)) for z in (z_d, z_g))  # of the batch labels
    d_expected = softplus(-real[:, 0]).mean() + softplus(fake_d[:, 0]).mean() + \
        weight * (cross_entropy(real[:, 1:], labels) + cross_entropy(fake_d[:, 1:], labels))
    assert gan.losses[0] == pytest.approx(d_expected, rel=1e-5)
    g_expected = softplus(-fake_g[:, 0]).mean() + weight * cross_entropy(fake_g[:, 1:], labels)
    assert gan.losses[1] == pytest.approx(g_expected, rel=1e-5)


def test_acgan_generator_gradient_is_the_adversarial_plus_the_class_cross_entropy_gradient():
    """The generator's gradient after its step, against the chain rule by hand: x_i = M u_i, logits W x_i + b;
    d/dx_i of softplus(-l_i) / B is -sigmoid(-l_i) w_0 / B, of the class CE is W_aux^T (softmax_i - e_{y_i}) / B."""
    weight = 2.0
    gan = one_round(num_classes=3, head=partial(ACGANHead, weight=weight))
    labels = REAL_LABELS.numpy()
    u = np.concatenate([gan.latents[1], np.eye(3)[labels]], axis=1)  # the generator step's inputs
    out = discriminated(gan, u @ gan.generator.weight.detach().double().numpy().T)
    w = gan.discriminator.weight.detach().double().numpy()
    batch = len(u)
    d_adversarial = -sigmoid(-out[:, :1]) * w[0] / batch  # (B, 2)
    probabilities = np.exp(out[:, 1:] - logsumexp(out[:, 1:], axis=1, keepdims=True))
    d_class = weight * (probabilities - np.eye(3)[labels]) @ w[1:] / batch  # (B, 2)
    expected = (d_adversarial + d_class).T @ u  # dL/dM = sum_i dL/dx_i u_i^T
    np.testing.assert_allclose(gan.generator.weight.grad.numpy(), expected, rtol=1e-5)
    assert np.abs(d_class.T @ u).max() > 0.1 * np.abs(expected).max()  # the class term is a real part of it


# --- the Q head shares the discriminator's body ---------------------------------------------------------------------
def test_q_head_is_the_discriminators_last_layer_on_its_shared_body():
    torch.manual_seed(0)
    gan = GANModule(partial(ConvDecoder, base_channels=8), partial(ConvEncoder, base_channels=8), latent_dim=8,
                    head=partial(InfoGANHead, categories=10, continuous=2, weight=1.0, continuous_weight=0.1))
    z, c = gan.draw_latents(16), gan.draw_categories(16)
    _, q = gan.discriminate_with_aux(gan.generate(z, c).detach())
    assert q.shape == (16, 12)
    loss, _ = gan.auxiliary.loss(q, c, z)
    loss.backward()
    first, last = gan.discriminator.net[0], gan.discriminator.net[-2]  # the body's first conv; the output conv
    assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0  # L_I trains the shared body
    assert last.weight.grad[0].abs().sum() == 0 and last.weight.grad[1:].abs().sum() > 0  # the logit's row: untouched
    d_optimizer, _ = gan.configure_optimizers()
    held = {id(p) for group in d_optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in gan.discriminator.parameters()} <= held  # Q is trained with the discriminator


def test_continuous_codes_are_the_last_entries_of_z_uniform_on_minus_one_one():
    gan = GANModule(partial(ConvDecoder, base_channels=8), partial(ConvEncoder, base_channels=8), latent_dim=6,
                    head=partial(InfoGANHead, categories=10, continuous=2, weight=1.0, continuous_weight=0.1))
    z = gan.draw_latents(20_000, torch.Generator().manual_seed(0))
    codes, noise = z[:, 4:], z[:, :4]
    assert codes.min() >= -1 and codes.max() <= 1
    torch.testing.assert_close(codes.var(0), torch.full((2,), 1 / 3), atol=0.01, rtol=0)  # Var U[-1, 1] = 1/3
    torch.testing.assert_close(noise.var(0), torch.ones(4), atol=0.04, rtol=0)
    assert (noise.abs() > 1).float().mean() > 0.3  # N(0, 1): about 32 % beyond 1


def test_sample_draws_the_asked_code_and_continuous_codes():
    torch.manual_seed(0)
    gan = GANModule(partial(ConvDecoder, base_channels=8), partial(ConvEncoder, base_channels=8), latent_dim=6,
                    head=partial(InfoGANHead, categories=10, continuous=2, weight=1.0, continuous_weight=0.1)).eval()
    z = torch.randn(5, 6)
    with torch.no_grad():
        expected = torch.sigmoid(gan.generator(z, torch.full((5,), 3)))
        torch.testing.assert_close(gan.sample(5, z=z, code=3), expected, rtol=0, atol=0)
        moved = torch.cat([z[:, :4], torch.tensor([0.5, -1.0]).expand(5, 2)], 1)
        torch.testing.assert_close(gan.sample(5, z=z, code=3, continuous=torch.tensor([0.5, -1.0])),
                                   torch.sigmoid(gan.generator(moved, torch.full((5,), 3))), rtol=0, atol=0)
    with pytest.raises(InputError, match="code"):
        gan.sample(5, code=10)
    with pytest.raises(InputError, match="continuous codes must have shape"):
        gan.sample(5, continuous=torch.zeros(3))


@pytest.mark.parametrize("options, message", [
    ({"head": partial(InfoGANHead, categories=0)}, "InfoGANHead: InfoGAN's Q needs a code"),
    ({"head": partial(InfoGANHead, continuous=2, continuous_weight=0.1), "pac": 2}, "pac = 1"),
    ({"head": ACGANHead}, "ACGANHead: ACGAN's class head needs a class-conditional GAN"),
    ({"head": partial(InfoGANHead, continuous=8)}, "continuous must lie in"),
    ({"head": InfoGANHead, "num_classes": 10}, "InfoGANHead: InfoGAN's categorical code stands in for a label"),
])
def test_inconsistent_auxiliary_options_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        GANModule(partial(ConvDecoder, base_channels=8), partial(ConvEncoder, base_channels=8), latent_dim=8, **options)


# --- Hungarian clustering accuracy ----------------------------------------------------------------------------------
def test_clustering_accuracy_of_a_relabelling_is_one():
    labels = np.random.default_rng(0).integers(0, 10, 500)
    permutation = np.random.default_rng(1).permutation(10)
    assert clustering_accuracy(permutation[labels], labels) == 1.0


def points_of(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(clusters, labels) with table[i, j] points in cluster i with label j."""
    pairs = [(i, j) for i, j in itertools.product(*map(range, table.shape)) for _ in range(table[i, j])]
    clusters, labels = map(np.array, zip(*pairs, strict=True))
    order = np.random.default_rng(0).permutation(len(labels))
    return clusters[order], labels[order]


def test_clustering_accuracy_of_a_hand_built_table_is_its_best_one_to_one_matching():
    # 18 points; clusters 0 and 2 both hold mostly label 0: a majority vote would score (5 + 6 + 3) / 18, but
    # one-to-one the best of the six matchings is 0->0, 1->2, 2->1: (5 + 6 + 0) / 18 (the others: 8, 2, 10, 0, 5)
    table = np.array([[5, 1, 0], [0, 2, 6], [3, 0, 1]])
    clusters, labels = points_of(table)
    assert clustering_accuracy(clusters, labels) == 11 / 18
    # more clusters than labels: the extra cluster has no label of its own and counts as wrong
    clusters, labels = points_of(np.array([[4, 1], [0, 3], [2, 0]]))
    assert clustering_accuracy(clusters, labels) == (4 + 3) / 10


def test_clustering_accuracy_metric_gathers_batches_before_matching():
    clusters, labels = points_of(np.array([[5, 1, 0], [0, 2, 6], [3, 0, 1]]))
    metric = ClusteringAccuracy()
    for start in range(0, 18, 5):  # per batch the best matchings differ
        metric.update(torch.from_numpy(clusters[start: start + 5]), torch.from_numpy(labels[start: start + 5]))
    assert metric.compute().item() == 11 / 18


# --- ACGAN's asked-class accuracy -----------------------------------------------------------------------------------
class GrayLevelGenerator(nn.Module):
    """A stand-in conditional GAN whose samples show the asked class as their gray level, class / 10."""

    hparams = {"num_classes": 10}
    device = torch.device("cpu")

    def sample(self, n, labels):
        return (labels.float() / 10)[:, None, None, None].expand(n, 1, 28, 28)


class MisreadsThrees(nn.Module):
    """A stand-in digit classifier that reads the gray level's class, except that it reads 3 as 5."""

    def forward(self, images):
        read = (images.mean((1, 2, 3)) * 10).round().long()
        read[read == 3] = 5
        return None, F.one_hot(read, 10).float()


def test_asked_class_accuracy_counts_the_samples_read_as_their_asked_class(monkeypatch):
    callback = AskedClassAccuracy(num_samples=1000, batch_size=64)
    callback.classifier = MisreadsThrees()
    callback.classifier.protocol = {"extractor": "stand-in", "weights_sha256": "-"}
    logged = {}
    module = GrayLevelGenerator()
    monkeypatch.setattr(module, "log_dict", lambda values, **kwargs: logged.update(values), raising=False)
    trainer = type("Trainer", (), {"fast_dev_run": False})()
    callback.evaluate(trainer, module, "test")
    assert logged == {"test/class_accuracy": 0.9, "test/class_accuracy_min": 0.0}  # 100 of each class, 3s all wrong


# --- the recipes fit, checkpoint, reload and test -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["infogan_mnist", "acgan_mnist"])
def test_recipe_fits_checkpoints_reloads_and_reports_its_metric(recipe, mnist_root, tmp_path):
    common = ["--config", str(REPO / f"configs/gan/{recipe}.yaml"), "--data.root", str(mnist_root),
              "--data.download", "false", "--data.val_size", "56", "--trainer.default_root_dir", str(tmp_path),
              "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]
    fit = main(["fit", *common, "--trainer.max_steps", "4", "--trainer.limit_val_batches", "1"])
    checkpoint = fit.trainer.checkpoint_callback.last_model_path
    trained, loaded = fit.model.eval(), GANModule.load_from_checkpoint(checkpoint, weights_only=True).eval()
    data = MNIST(root=str(mnist_root), val_size=56)
    data.setup("test")
    images, labels = data.test_set.tensors
    images = images.float() / 255
    asked = {"code": 3} if recipe == "infogan_mnist" else {"labels": 3}
    z = torch.randn(8, trained.hparams.latent_dim)
    torch.testing.assert_close(loaded.sample(8, z=z, **asked), trained.sample(8, z=z, **asked), rtol=0, atol=0)
    torch.testing.assert_close(loaded.predict_code(images), trained.predict_code(images), rtol=0, atol=0)

    main(["test", *common, "--ckpt_path", checkpoint, "--trainer.fast_dev_run", "true"])
    metrics = json.loads(Path(tmp_path, "test_results.json").read_text())["metrics"]
    assert {"test/fid", "test/d_loss"} <= set(metrics)
    if recipe == "infogan_mnist":  # Q's argmax over its 10 category logits (outputs 1..10) on the 64 test images
        with torch.no_grad():
            clusters = loaded.discriminator(images)[:, 1:11].argmax(1)
        assert metrics["test/cluster_accuracy"] == pytest.approx(clustering_accuracy(clusters, labels), abs=1e-7)
    else:
        assert 0 <= metrics["test/class_accuracy_min"] <= metrics["test/class_accuracy"] <= 1


def test_weights_with_an_auxiliary_head_do_not_fit_a_recipe_without_it_whatever_the_weights():
    for recipe, weights in (("infogan_mnist", ("weight", "continuous_weight")), ("acgan_mnist", ("weight",))):
        stored = yaml.safe_load((REPO / f"configs/gan/{recipe}.yaml").read_text())["model"]
        head = stored["init_args"]["head"]
        other_lambda = {**head, "init_args": {**head["init_args"], **{key: 0.5 for key in weights}}}
        check_fits(stored, {**stored, "init_args": {**stored["init_args"], "head": other_lambda}}, "weights", None)
        headless = {**stored, "init_args": {**stored["init_args"], "head": None}}
        with pytest.raises(WeightsError, match="head: .* vs none"):
            check_fits(stored, headless, "weights", None)
    infogan = yaml.safe_load((REPO / "configs/gan/infogan_mnist.yaml").read_text())["model"]
    head = infogan["init_args"]["head"]
    fewer_codes = {**head, "init_args": {**head["init_args"], "continuous": 1}}
    with pytest.raises(WeightsError, match="head.continuous: 2 vs 1"):
        check_fits(infogan, {**infogan, "init_args": {**infogan["init_args"], "head": fewer_codes}}, "weights", None)


@pytest.mark.slow
def test_a_spectrally_normalised_infogan_discriminator_has_unit_norm_layers():
    torch.manual_seed(0)
    net = InfoGANDiscriminator((1, 28, 28), 1, norm="none", spectral_norm=True)
    for _ in range(30):  # each training-mode forward runs one power iteration per layer
        net(torch.rand(2, 1, 28, 28))
    linear_layers = [net.body[6], net.real_fake]
    for layer in linear_layers:
        spectral = np.linalg.norm(layer.weight.detach().numpy(), ord=2)
        assert spectral == pytest.approx(1.0, abs=0.02)  # slow power iteration on 1024x6272
    plain = InfoGANDiscriminator((1, 28, 28), 1, norm="none")
    for layer in [plain.body[6], plain.real_fake]:  # the default initialisation is not at norm 1
        assert abs(np.linalg.norm(layer.weight.detach().numpy(), ord=2) - 1.0) > 0.1


def test_a_conditional_infogan_discriminator_adds_the_projection_of_the_label_embedding():
    torch.manual_seed(0)
    net = InfoGANDiscriminator((1, 28, 28), 1, num_classes=10, norm="none").eval()
    x, labels = torch.rand(4, 1, 28, 28), torch.tensor([0, 3, 3, 9])
    h = net.body(x).detach().double().numpy()
    w, b = net.real_fake.weight.detach().double().numpy(), net.real_fake.bias.detach().double().numpy()
    embed = net.embed.weight.detach().double().numpy()
    expected = h @ w.T + b + (embed[labels.numpy()] * h).sum(1, keepdims=True)  # Miyato & Koyama 2018, eq. 3
    np.testing.assert_allclose(net(x, labels).detach().double().numpy(), expected, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(net(x, labels), net(x, (labels + 1) % 10))  # the label changes the logit
    with pytest.raises(InputError, match="class-conditional: pass labels"):
        net(x)
