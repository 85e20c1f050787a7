"""Caption cleaning transform (opt-in)."""
import re

from mmcv.transforms import BaseTransform

from sdtr.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PreCaption(BaseTransform):
    """Normalise captions the way PIR (ALBEF/X-VLM ``pre_caption``) does.

    Lower-case; delete the characters ``, . ' ! ? " ( ) * # : ; ~``; turn
    ``-`` and ``/`` into spaces; collapse runs of white space; keep at most
    ``max_words`` words.  Applies to ``text`` (train samples) and to each
    element of ``texts`` (test items).  Opt-in: the released CLIP-style
    methods feed raw captions to their tokenisers.

    Args:
        max_words (int, optional): word limit (PIR uses 30); ``None`` keeps
            every word.
        lowercase (bool): lower-case the caption.
    """

    _PUNCT = re.compile(r'[,.\'!?"()*#:;~]')
    _SEP = re.compile(r'[-/]')
    _SPACES = re.compile(r'\s{2,}')

    def __init__(self, max_words=30, lowercase: bool = True):
        self.max_words = max_words
        self.lowercase = lowercase

    def clean(self, caption: str) -> str:
        """Clean one caption."""
        text = caption.lower() if self.lowercase else caption
        text = self._PUNCT.sub('', text)
        text = self._SEP.sub(' ', text)
        text = self._SPACES.sub(' ', text).strip()
        if self.max_words is not None:
            text = ' '.join(text.split(' ')[:self.max_words])
        return text

    def transform(self, results: dict) -> dict:
        if 'text' in results:
            results['text'] = self.clean(results['text'])
        if 'texts' in results:
            results['texts'] = [self.clean(t) for t in results['texts']]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_words={self.max_words}, '
                f'lowercase={self.lowercase})')
