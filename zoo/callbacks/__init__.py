from zoo.callbacks.class_accuracy import AskedClassAccuracy
from zoo.callbacks.disentanglement import MutualInformationGap
from zoo.callbacks.images import ImageGrids
from zoo.callbacks.interrupt import CheckpointOnInterrupt
from zoo.callbacks.memory_format import ChannelsLast
from zoo.callbacks.progress import SparseProgressBar
from zoo.callbacks.random_state import RandomState
from zoo.callbacks.sample_quality import SampleQuality
from zoo.callbacks.stacked_modes import StackedMNISTModes
from zoo.callbacks.toy import ToyModes

__all__ = ["AskedClassAccuracy", "ChannelsLast", "CheckpointOnInterrupt", "ImageGrids", "MutualInformationGap",
           "RandomState", "SampleQuality", "SparseProgressBar", "StackedMNISTModes", "ToyModes"]
