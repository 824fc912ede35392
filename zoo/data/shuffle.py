"""The training order from a generator of the data module's own, saved in checkpoints (Lightning stores a
data module's `state_dict`), so a resumed run sees the batches an uninterrupted one would. Data loading
then draws nothing from the global generator, which `zoo.callbacks.RandomState` saves for the model's noise."""

import torch


class ResumableShuffle:
    seed: int

    @property
    def shuffle_generator(self) -> torch.Generator:
        if getattr(self, "_shuffle_generator", None) is None:
            self._shuffle_generator = torch.Generator().manual_seed(self.seed)
        return self._shuffle_generator

    def state_dict(self) -> dict:
        return {"shuffle_generator": self.shuffle_generator.get_state()}

    def load_state_dict(self, state_dict: dict) -> None:
        if "shuffle_generator" in state_dict:
            self.shuffle_generator.set_state(state_dict["shuffle_generator"])
