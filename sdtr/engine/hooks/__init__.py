from .dataset_epoch_hook import DatasetEpochHook  # noqa: F401
