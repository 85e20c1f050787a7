from .dataset_epoch_hook import DatasetEpochHook  # noqa: F401
from .skipped_samples_hook import SkippedSamplesHook  # noqa: F401
