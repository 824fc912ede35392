from zoo.callbacks.images import ImageGrids

__all__ = ["ImageGrids"]
