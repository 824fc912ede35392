"""zoo.callbacks.ChannelsLast: the same training in another memory order, and checkpoints that resume either way."""

from functools import partial

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from zoo import GANModule
from zoo.callbacks import ChannelsLast
from zoo.nets import ConvDecoder, ConvEncoder


def conv_gan() -> GANModule:
    torch.manual_seed(0)
    adam = partial(torch.optim.Adam, lr=1e-3, betas=(0.5, 0.999), fused=True)
    return GANModule(partial(ConvDecoder, base_channels=8), partial(ConvEncoder, base_channels=8), latent_dim=8,
                     generator_optimizer=adam, discriminator_optimizer=adam)


class WeightOrder(L.Callback):
    """Whether each training batch met channels-last convolution weights."""

    def __init__(self):
        self.channels_last = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        weights = [p for p in pl_module.parameters() if p.dim() == 4]
        self.channels_last.append(all(p.is_contiguous(memory_format=torch.channels_last) for p in weights))


class ConvInputOrder(L.Callback):
    """Whether each convolution's input of more than one channel came in channels-last order, on the second batch."""

    def __init__(self):
        self.channels_last, self.handles = [], []

    def record(self, module, args):
        x = args[0]
        if x.shape[1] > 1 and x.shape[-1] * x.shape[-2] > 1:
            self.channels_last.append(x.is_contiguous(memory_format=torch.channels_last))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == 1:
            convs = [m for m in pl_module.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
            self.handles = [m.register_forward_pre_hook(self.record) for m in convs]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        for handle in self.handles:
            handle.remove()
        self.handles = []


def fit(gan: GANModule, steps: int, callbacks: list, ckpt_path=None, root=None) -> L.Trainer:
    torch.manual_seed(1)
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    data = DataLoader(TensorDataset(images, torch.zeros(64, dtype=torch.long)), batch_size=16)
    trainer = L.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=callbacks, default_root_dir=root)
    trainer.fit(gan, data, ckpt_path=ckpt_path)
    return trainer


def mean_difference(a: GANModule, b: GANModule) -> float:
    return max(float((p - q).abs().mean()) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_channels_last_trains_like_the_contiguous_order_and_gives_contiguous_weights_back():
    order = WeightOrder()
    plain, channels_last = conv_gan(), conv_gan()
    fit(plain, 12, [])
    fit(channels_last, 12, [ChannelsLast(), order])
    assert order.channels_last and all(order.channels_last)  # it trained in the other order
    assert all(p.is_contiguous() for p in channels_last.parameters())
    # same draws, same batches: the weights differ by the kernels' float rounding only
    assert mean_difference(plain, channels_last) < 1e-6


def test_every_convolution_meets_channels_last_inputs_even_after_a_one_channel_weight():
    """A weight of one input channel (the discriminator's first convolution on grey images) is channels-last and
    contiguous at once under its default strides, which oneDNN reads as contiguous: it must get the channels-last
    strides, or its output and the next convolution's input fall back to the contiguous order."""
    order = ConvInputOrder()
    fit(conv_gan(), 3, [ChannelsLast(), order])
    assert order.channels_last and all(order.channels_last), order.channels_last


def test_a_checkpoint_resumes_the_same_with_or_without_channels_last(tmp_path):
    """Fused CPU Adam walks weight, gradient and moments in memory order: a contiguous checkpoint's moments resumed
    into channels-last weights (or the reverse) would be applied to the wrong elements."""
    for saved_with in ([], [ChannelsLast()]):
        gan = conv_gan()
        trainer = fit(gan, 12, saved_with, root=tmp_path)
        path = tmp_path / "gan.ckpt"
        trainer.save_checkpoint(path)
        stored = torch.load(path, weights_only=True)
        tensors = [*stored["state_dict"].values(),
                   *(v for s in stored["optimizer_states"] for state in s["state"].values() for v in state.values())]
        assert all(t.is_contiguous() for t in tensors if torch.is_tensor(t))
        resumed = {}
        for name, callbacks in (("contiguous", []), ("channels_last", [ChannelsLast()])):
            resumed[name] = conv_gan()
            fit(resumed[name], 24, callbacks, ckpt_path=path, root=tmp_path)
        assert mean_difference(resumed["contiguous"], resumed["channels_last"]) < 1e-6


def test_it_leaves_the_weights_of_a_module_off_the_cpu_alone_unless_asked():
    from types import SimpleNamespace
    weight = torch.nn.Parameter(torch.randn(4, 3, 2, 2))
    trainer = SimpleNamespace(optimizers=[torch.optim.Adam([weight])])
    ChannelsLast().on_train_start(trainer, SimpleNamespace(device=torch.device("cuda")))
    assert weight.is_contiguous() and not weight.is_contiguous(memory_format=torch.channels_last)
    ChannelsLast(cpu_only=False).on_train_start(trainer, SimpleNamespace(device=torch.device("cuda")))
    assert weight.is_contiguous(memory_format=torch.channels_last)
