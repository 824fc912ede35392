"""A data module over three splits (`train_set`, `val_set`, `test_set`): its loaders, the training one drawing
the resumable order of `ResumableShuffle`. A subclass builds the splits in `setup` and says whether its
datasets gather a whole batch themselves (`__getitems__` returning the batch's tensors)."""

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from zoo.data.shuffle import ResumableShuffle


def whole_batch(batch):
    """collate_fn for a dataset that gathers a whole batch itself: the batch is already made."""
    return batch


class SplitDataModule(ResumableShuffle, L.LightningDataModule):
    batch_size: int
    num_workers: int
    gathers_batches: bool = True  # its datasets' __getitems__ returns the batch's tensors

    def loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(dataset, batch_size=self.batch_size, num_workers=self.num_workers,
                          sampler=self.training_sampler(dataset) if shuffle else None,
                          persistent_workers=self.num_workers > 0, pin_memory=torch.cuda.is_available(),
                          collate_fn=whole_batch if self.gathers_batches else None,
                          generator=self.shuffle_generator if shuffle else None)

    def train_dataloader(self):
        return self.loader(self.train_set, shuffle=True)

    def val_dataloader(self):
        return self.loader(self.val_set, shuffle=False)

    def test_dataloader(self):
        return self.loader(self.test_set, shuffle=False)

    def predict_dataloader(self):
        return self.test_dataloader()
