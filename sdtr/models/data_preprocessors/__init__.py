from .retrieval_data_preprocessor import (CLIP_MEAN, CLIP_STD,
                                          RetrievalDataPreprocessor)

__all__ = ['RetrievalDataPreprocessor', 'CLIP_MEAN', 'CLIP_STD']
