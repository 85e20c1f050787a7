import open_clip
import pytest
import torch

from sdtr.models.tokenizers import CLIPTokenizer
from sdtr.registry import TOKENIZERS

TEXTS = [
    'a photo of a cat!', '', 'Many  buildings are around a PARKING lot.',
    'émigré café & naïve résumé', 'x ' * 200, '!!!', 'Jekyll and Hyde'
]


@pytest.fixture(scope='module')
def tok():
    return TOKENIZERS.build(dict(type='CLIPTokenizer', context_length=77))


@pytest.mark.parametrize('context_length', [77, 32, 8])
def test_ids_equal_open_clip(tok, context_length):
    out = tok(TEXTS, context_length=context_length)
    ref = open_clip.tokenize(TEXTS, context_length=context_length)
    assert out['input_ids'].dtype == torch.long
    assert out['attention_mask'].dtype == torch.long
    assert out['input_ids'].shape == (len(TEXTS), context_length)
    assert torch.equal(out['input_ids'], ref)


def test_attention_mask_and_truncation(tok):
    out = tok(['a photo of a cat!', '!', 'x ' * 50], context_length=8)
    ids, mask = out['input_ids'], out['attention_mask']
    assert mask[1].tolist() == [1, 1, 1] + [0] * 5
    assert mask[0].tolist() == [1] * 8
    # truncated rows keep EOT last, and EOT is the argmax (pooling)
    assert ids[2, -1].item() == tok.eot_token_id
    assert torch.equal(ids.argmax(-1), mask.sum(-1) - 1)
    assert ids[:, 0].eq(tok.sot_token_id).all()


def test_special_ids_and_vocab(tok):
    assert (tok.sot_token_id, tok.eot_token_id, tok.pad_token_id) == \
        (49406, 49407, 0)
    assert tok.vocab_size == 49408
    assert tok.mask_token_id is None
    assert tok.context_length == 77
    assert tok.decode(tok('A photo of a cat')['input_ids'][0]) == \
        'a photo of a cat'
    short = CLIPTokenizer(context_length=5)
    assert short(['a', 'b'])['input_ids'].shape == (2, 5)
    with pytest.raises(ValueError):
        CLIPTokenizer(context_length=1)


def test_mask_token_irra_layout(tok):
    mtok = CLIPTokenizer(mask_token=True)
    assert mtok.mask_token_id == 49405
    assert mtok.vocab_size == 49408
    assert mtok.mask_token_id < mtok.sot_token_id < mtok.eot_token_id
    ids = mtok(['a <|mask|> dog on the <|mask|>'])['input_ids'][0]
    expected = [49406, 320, 49405, 1929, 525, 518, 49405, 49407]
    assert ids[:8].tolist() == expected
    assert ids.argmax().item() == 7
    # captions without the mask string are unchanged ...
    normal = ['a photo of a cat', 'two planes near a terminal']
    assert torch.equal(mtok(normal)['input_ids'], tok(normal)['input_ids'])
    # ... except the word that owned id 49405, now spelt by other merges
    assert tok(['jekyll'])['input_ids'][0, 1].item() == 49405
    jek = mtok(['jekyll'])['input_ids'][0]
    assert 49405 not in jek.tolist()
    assert mtok.decode(jek) == 'jekyll'
    assert mtok.decode(ids) == 'a <|mask|> dog on the <|mask|>'
