from .retrieval_test_loop import RetrievalTestLoop
from .retrieval_val_loop import RetrievalValLoop

__all__ = ['RetrievalValLoop', 'RetrievalTestLoop']
from .zero_shot_classification_loop import ZeroShotClassificationLoop  # noqa: E402,E501

__all__ += ['ZeroShotClassificationLoop']
from .checkpoint_runner import CheckpointRunner  # noqa: E402
from .quiet_setup_runner import QuietSetupRunner, build_runner  # noqa: E402

__all__ += ['CheckpointRunner', 'QuietSetupRunner', 'build_runner']
from .epoch_based_train_loop import EpochBasedTrainLoop  # noqa: E402

__all__ += ['EpochBasedTrainLoop']
