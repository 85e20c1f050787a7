from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from .dataset_epoch_hook import DatasetEpochHook  # noqa: F401
from .skipped_samples_hook import SkippedSamplesHook  # noqa: F401
from .non_finite_check_hook import (NonFiniteCheckHook,  # noqa: F401
                                    NonFiniteLossError)
from .preemption_hook import PreemptionHook, stop_exit_code  # noqa: F401
from .reproducibility_hook import ReproducibilityHook  # noqa: F401
from .train_progress_hook import TrainProgressHook  # noqa: F401
