from zoo.callbacks.images import ImageGrids
from zoo.callbacks.toy import ToyModes

__all__ = ["ImageGrids", "ToyModes"]
