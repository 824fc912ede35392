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
