from .retrieval_test_loop import RetrievalTestLoop
from .retrieval_val_loop import RetrievalValLoop

__all__ = ['RetrievalValLoop', 'RetrievalTestLoop']
from .zero_shot_classification_loop import ZeroShotClassificationLoop  # noqa: E402,E501

__all__ += ['ZeroShotClassificationLoop']
from .quiet_setup_runner import QuietSetupRunner, build_runner  # noqa: E402

__all__ += ['QuietSetupRunner', 'build_runner']
