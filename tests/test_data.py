"""DataModules on data made in the test: splits, binarisation, shapes and missing-data messages."""

import pytest
import torch
from torchvision import datasets

from zoo.data import CIFAR10, MNIST, DataNotFoundError, Digits, FashionMNIST, ImageFolder
from zoo.data.shuffle import ResumableRandomSampler
from zoo.errors import InputError


def batches(datamodule, loader, training: bool):
    class FakeTrainer:
        pass

    trainer = FakeTrainer()
    trainer.training = training
    datamodule.trainer = trainer
    return [datamodule.on_after_batch_transfer(batch, 0) for batch in loader]


def test_mnist_splits_and_scales_to_unit_interval(mnist_root):
    datamodule = MNIST(root=str(mnist_root), val_size=56, batch_size=32)
    datamodule.setup("fit")
    assert (len(datamodule.train_set), len(datamodule.val_set), len(datamodule.test_set)) == (200, 56, 64)
    x, labels = batches(datamodule, datamodule.train_dataloader(), training=True)[0]
    assert x.shape == (32, *MNIST.dims) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1 and len(x.unique()) > 2
    assert labels.dtype == torch.long


def test_validation_split_is_fixed_by_the_seed(mnist_root):
    first, second = MNIST(root=str(mnist_root), val_size=50), MNIST(root=str(mnist_root), val_size=50)
    first.setup("fit"), second.setup("fit")
    assert first.val_set.indices == second.val_set.indices


def test_train_size_keeps_a_fixed_subset_of_the_training_split(mnist_root):
    full, first, second = (MNIST(root=str(mnist_root), val_size=50, train_size=size) for size in (None, 60, 60))
    for datamodule in (full, first, second):
        datamodule.setup("fit")
    assert len(first.train_set) == 60 and first.train_set.indices == second.train_set.indices
    assert set(first.train_set.indices) <= set(full.train_set.indices)  # never a validation image
    assert first.val_set.indices == full.val_set.indices
    with pytest.raises(InputError, match="train_size"):
        MNIST(root=str(mnist_root), val_size=50, train_size=10**6).setup("fit")


def test_dynamic_binarisation_redraws_training_batches_and_fixes_validation(mnist_root):
    datamodule = MNIST(root=str(mnist_root), val_size=50, batch_size=300, binarize="dynamic")
    datamodule.setup("fit")
    loader = datamodule.loader(datamodule.train_set, shuffle=False)
    first = batches(datamodule, loader, training=True)[0][0]
    second = batches(datamodule, loader, training=True)[0][0]
    assert set(first.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(first, second)  # the same images, binarised afresh
    val = [batches(datamodule, datamodule.val_dataloader(), training=False)[0][0] for _ in range(2)]
    assert set(val[0].unique().tolist()) == {0.0, 1.0} and torch.equal(val[0], val[1])


def test_static_binarisation_is_the_same_every_epoch(mnist_root):
    datamodule = MNIST(root=str(mnist_root), val_size=50, batch_size=300, binarize="static")
    datamodule.setup("fit")
    loader = datamodule.loader(datamodule.train_set, shuffle=False)
    first, second = (batches(datamodule, loader, training=True)[0][0] for _ in range(2))
    assert set(first.unique().tolist()) == {0.0, 1.0} and torch.equal(first, second)


def test_fashion_mnist_reads_its_own_folder(mnist_root):
    datamodule = FashionMNIST(root=str(mnist_root), val_size=10)
    datamodule.setup("fit")
    assert len(datamodule.test_set) == 64


@pytest.mark.parametrize("module, names", [
    (MNIST, ["MNIST/raw/train-images-idx3-ubyte", "MNIST/raw/t10k-labels-idx1-ubyte"]),
    (FashionMNIST, ["FashionMNIST/raw/train-images-idx3-ubyte"]),
    (CIFAR10, ["cifar-10-batches-py/data_batch_1", "cifar-10-batches-py/test_batch"]),
])
def test_missing_data_names_the_files_and_the_flag(tmp_path, module, names):
    with pytest.raises(DataNotFoundError) as error:
        module(root=str(tmp_path)).setup("fit")
    message = str(error.value)
    assert "--data.root" in message and str(tmp_path) in message
    for name in names:
        assert name in message


def test_failed_download_says_so(tmp_path, monkeypatch):
    def unreachable(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(datasets.MNIST, "download", unreachable)
    with pytest.raises(DataNotFoundError, match="download to .* failed .*Error downloading"):
        MNIST(root=str(tmp_path), download=True).prepare_data()


def test_digits_need_no_download_and_take_any_size():
    datamodule = Digits(image_size=32, batch_size=16)
    datamodule.setup("fit")
    assert datamodule.dims == (1, 32, 32)
    assert (len(datamodule.train_set), len(datamodule.val_set), len(datamodule.test_set)) == (1300, 200, 297)
    x, _ = batches(datamodule, datamodule.test_dataloader(), training=False)[0]
    assert x.shape == (16, 1, 32, 32)


def test_image_folder_resizes_and_splits(folder_root):
    datamodule = ImageFolder(root=str(folder_root[64]), image_size=28, channels=1, val_size=4, test_size=4)
    datamodule.setup("fit")
    assert (len(datamodule.train_set), len(datamodule.val_set), len(datamodule.test_set)) == (16, 4, 4)
    x, labels = next(iter(datamodule.train_dataloader()))
    assert x.shape[1:] == (1, 28, 28) and datamodule.num_classes == 2


def test_bad_options_are_refused(folder_root):
    with pytest.raises(ValueError, match="binarize must be"):
        MNIST(binarize="sometimes")
    with pytest.raises(ValueError, match="does not support binarize"):
        ImageFolder(root=str(folder_root[32]), binarize="dynamic")


def test_the_training_sampler_replays_an_epochs_order_from_where_it_stopped():
    sampler = ResumableRandomSampler(range(50), torch.Generator().manual_seed(3))
    first_epoch = list(sampler)
    second_epoch = list(sampler)
    order_from = sampler.order_from
    assert sorted(second_epoch) == list(range(50)) and second_epoch != first_epoch
    sampler.replay_from(order_from, skip=20)
    assert list(sampler) == second_epoch[20:]
    assert list(sampler) != second_epoch  # the replay is used once; the next epoch draws a new order
