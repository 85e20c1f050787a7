from .clip_tokenizer import CLIPTokenizer

__all__ = ['CLIPTokenizer']
from .bert_tokenizer import BertTokenizer  # noqa: E402

__all__ += ['BertTokenizer']
