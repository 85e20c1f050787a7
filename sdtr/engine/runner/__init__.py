from .retrieval_test_loop import RetrievalTestLoop
from .retrieval_val_loop import RetrievalValLoop

__all__ = ['RetrievalValLoop', 'RetrievalTestLoop']
