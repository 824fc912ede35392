"""The trained convolution weights in channels-last order (NHWC) while training: oneDNN's CPU convolutions and
cuDNN's tensor-core ones run faster on it, and a convolution whose weight is channels-last returns channels-last
activations, so the network follows without touching the data. Values are unchanged (only the memory order), up to
float rounding of the faster kernels. Only the weights an optimizer trains move: 2-D ones (linear layers) are left
as they are, and so is what is computed without gradients (a GAN's EMA generator and its batch-norm statistics),
so that it samples the same in training as after loading. The weights are made contiguous again when training
ends and checkpoints hold contiguous tensors, so a checkpoint resumes with or without this callback.

A trainer default, on the CPU only (`cpu_only`), where its gain is measured (benchmarks/memory_format_speed.py).
"""

import lightning as L
import torch


class ChannelsLast(L.Callback):
    """Convolution weights in channels-last order while training.

    Args:
        cpu_only: leave a model trained off the CPU as it is (the gain is measured on the CPU only).
    """

    def __init__(self, cpu_only: bool = True):
        self.cpu_only = cpu_only
        self.moved: list[torch.Tensor] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.cpu_only and pl_module.device.type != "cpu":
            return
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                for weight in group["params"]:
                    if weight.dim() == 4:
                        weight.data = weight.data.to(memory_format=torch.channels_last)  # not contiguous():
                        # a one-channel weight passes as channels-last in its default strides, which oneDNN
                        # reads as contiguous, and the convolutions after it fall back to that order
                        self.moved.append(weight)
                        in_weight_order(optimizer.state.get(weight, {}), weight)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        checkpoint["state_dict"] = {key: contiguous(value) for key, value in checkpoint["state_dict"].items()}
        for optimizer_state in checkpoint.get("optimizer_states", []):
            optimizer_state["state"] = {index: {key: contiguous(value) for key, value in state.items()}
                                        for index, state in optimizer_state["state"].items()}  # new dicts: the
            # optimizer's own still hold its live tensors

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        for weight in self.moved:
            weight.data = weight.data.contiguous()
        self.moved = []


def in_weight_order(state: dict, weight: torch.Tensor) -> None:
    """An optimizer's per-weight tensors (a state restored from a checkpoint) in the weight's memory order: the fused
    CPU Adam walks weight, gradient and moments in memory order and mixes up elements when their orders differ."""
    for key, value in state.items():
        if torch.is_tensor(value) and value.shape == weight.shape and value.stride() != weight.stride():
            state[key] = torch.empty_like(weight).copy_(value)


def contiguous(value):
    return value.contiguous() if torch.is_tensor(value) else value
