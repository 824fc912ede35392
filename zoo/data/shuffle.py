"""The training order from a generator of the data module's own, saved in checkpoints (Lightning stores a
data module's `state_dict`), so a resumed run sees the batches an uninterrupted one would. Data loading
then draws nothing from the global generator, which `zoo.callbacks.RandomState` saves for the model's noise.

A checkpoint written mid-epoch (SIGTERM, `every_n_train_steps`, or the last one before a SIGKILL) also holds
the generator's state when that epoch's order was drawn and how many batches were trained; the resumed run
draws the same order and skips those batches without loading them.
"""

import itertools
import warnings

import torch
from torch.utils.data import RandomSampler


class ResumableRandomSampler(RandomSampler):
    """A RandomSampler that remembers the generator state its current order was drawn from, and can replay an
    order from a given state, skipping its first indices. Under DDP, Lightning swaps it for a DistributedSampler
    as it would a RandomSampler."""

    def __init__(self, data_source, generator: torch.Generator):
        super().__init__(data_source, generator=generator)
        self.order_from = generator.get_state()
        self.replay: tuple[torch.Tensor, int] | None = None

    def replay_from(self, order_from: torch.Tensor, skip: int) -> None:
        self.replay = (order_from, skip)

    def __iter__(self):
        skip = 0
        if self.replay is not None:
            (order_from, skip), self.replay = self.replay, None
            self.generator.set_state(order_from)
        self.order_from = self.generator.get_state()
        return itertools.islice(super().__iter__(), skip, None)


class ResumableShuffle:
    seed: int
    batch_size: int

    @property
    def shuffle_generator(self) -> torch.Generator:
        if getattr(self, "_shuffle_generator", None) is None:
            self._shuffle_generator = torch.Generator().manual_seed(self.seed)
        return self._shuffle_generator

    def training_sampler(self, dataset) -> ResumableRandomSampler:
        """The training loader's sampler. Give the loader `generator=self.shuffle_generator` too: it draws its
        workers' base seed from it, which would otherwise come from the global generator at a point that differs
        between a resumed run and an unstopped one."""
        self._training_sampler = ResumableRandomSampler(dataset, self.shuffle_generator)
        if getattr(self, "_resume_epoch", None):
            self._training_sampler.replay_from(self._resume_epoch["order_from"],
                                               self._resume_epoch["batches_done"] * self.batch_size)
            self._resume_epoch = None
            if self.trainer is not None and self.trainer.world_size == 1:  # under DDP the warning holds
                warnings.filterwarnings("ignore", "You're resuming from a checkpoint that ended before the epoch")
        return self._training_sampler

    def batches_done_this_epoch(self) -> int:
        """Batches of an unfinished training epoch already trained on; 0 between epochs."""
        trainer = getattr(self, "trainer", None)
        if trainer is None or trainer.state.fn != "fit":
            return 0
        progress = trainer.fit_loop.epoch_loop.batch_progress
        done = progress.current.processed
        return 0 if progress.is_last_batch or done >= trainer.num_training_batches else done

    def state_dict(self) -> dict:
        state = {"shuffle_generator": self.shuffle_generator.get_state()}
        sampler, done = getattr(self, "_training_sampler", None), self.batches_done_this_epoch()
        if sampler is not None and done:
            state["unfinished_epoch"] = {"order_from": sampler.order_from, "batches_done": done}
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        if "shuffle_generator" in state_dict:
            self.shuffle_generator.set_state(state_dict["shuffle_generator"])
        self._resume_epoch = state_dict.get("unfinished_epoch")
