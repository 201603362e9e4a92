"""Which tasks help each other: inter-task affinity and task grouping."""

from keras_mtl.transfer.grouping import best_groupings

__all__ = ["best_groupings"]
