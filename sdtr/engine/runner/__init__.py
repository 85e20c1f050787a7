from .retrieval_test_loop import RetrievalTestLoop
from .retrieval_val_loop import RetrievalValLoop

__all__ = ['RetrievalValLoop', 'RetrievalTestLoop']
from .zero_shot_classification_loop import ZeroShotClassificationLoop  # noqa: E402,E501

__all__ += ['ZeroShotClassificationLoop']
from .checkpoint_runner import CheckpointRunner  # noqa: E402
from .quiet_setup_runner import QuietSetupRunner  # noqa: E402

__all__ += ['CheckpointRunner', 'QuietSetupRunner']
from .epoch_based_train_loop import EpochBasedTrainLoop  # noqa: E402

__all__ += ['EpochBasedTrainLoop']
