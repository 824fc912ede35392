"""Resume as if never stopped: the random generators' states travel in the checkpoint.

Lightning restores weights, optimizers, schedulers, loop counters and module buffers (the GAN's
generator-iteration counter, its EMA weights), but not the random generators that draw the data order,
the dynamic binarisation and the noise. This callback saves torch's CPU and CUDA generator states with
each checkpoint and puts them back when training restarts, after the sanity check (which draws noise of its
own), so the resumed run draws what the uninterrupted one would have drawn.
"""

import lightning as L
import torch


class RandomState(L.Callback):
    def __init__(self):
        self.pending: dict | None = None

    def state_dict(self) -> dict:
        state = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        self.pending = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.pending is None:
            return
        torch.set_rng_state(self.pending["torch"])
        if "cuda" in self.pending and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self.pending["cuda"])
        self.pending = None
