"""EKLSR eq. 10-13 (Text KLR) and eq. 14-17 (Image KLR) heads."""
import pytest
import torch
import torch.nn.functional as F

from sdtr.models.heads import ImageKLRHead, TextKLRHead

SOT, EOT, MASK = 49406, 49407, 49405


def test_text_mask_tokens_eq10():
    head = TextKLRHead(in_channels=4, mask_token_id=MASK)
    ids = torch.tensor([[SOT, 10, 20, 30, EOT, 0]])
    selected = torch.tensor([[False, True, False, True, False, False]])
    masked, targets = head.mask_tokens(ids, selected)
    assert masked.tolist() == [[SOT, MASK, 20, MASK, EOT, 0]]
    assert targets.tolist() == [[-100, 10, -100, 30, -100, -100]]


def _set_identity_head(head):
    with torch.no_grad():
        head.classifier.weight.copy_(torch.eye(head.num_classes,
                                               head.in_channels))
        head.classifier.bias.zero_()


def _manual_ce(logits, target):
    return -F.log_softmax(logits, dim=-1)[target]


@pytest.mark.parametrize('normalize', ['sample', 'token'])
def test_text_klr_loss_eq12_13(normalize):
    head = TextKLRHead(in_channels=3, vocab_size=3, mask_token_id=2,
                       loss_weight=0.1, normalize=normalize)
    _set_identity_head(head)
    feats = torch.tensor([[[9., 9., 9.], [1., 0., 0.], [0., 2., 0.]],
                          [[0., 0., 1.], [5., 5., 5.], [7., 7., 7.]]])
    img_global = torch.tensor([[0., 0., 1.], [1., 0., 0.]])
    targets = torch.tensor([[-100, 0, 1], [2, -100, -100]])
    loss = head.loss(feats, img_global, targets)
    # eq. 12: logits = W (f_mask + f_g^v) with W = I
    terms = [
        _manual_ce(torch.tensor([1., 0., 1.]), 0),
        _manual_ce(torch.tensor([0., 2., 1.]), 1),
        _manual_ce(torch.tensor([1., 0., 1.]), 2),
    ]
    denom = 2 if normalize == 'sample' else 3  # B vs masked tokens
    assert torch.allclose(loss, 0.1 * sum(terms) / denom, atol=1e-6)
    # ignore positions: changing unmasked features changes nothing
    feats2 = feats.clone()
    feats2[0, 0] = -3.
    feats2[1, 1:] = 11.
    assert torch.allclose(head.loss(feats2, img_global, targets), loss)
    # interaction: the paired image global matters ...
    assert not torch.allclose(
        head.loss(feats, torch.zeros_like(img_global), targets), loss)


def test_without_interaction_ignores_paired_global():
    head = TextKLRHead(in_channels=3, vocab_size=3, mask_token_id=2,
                       with_interaction=False, normalize='sample')
    _set_identity_head(head)
    feats = torch.randn(2, 3, 3)
    targets = torch.tensor([[-100, 0, 1], [2, -100, -100]])
    a = head.loss(feats, torch.randn(2, 3), targets)
    assert torch.allclose(a, head.loss(feats, None, targets))
    expected = sum(
        _manual_ce(feats[b, i], targets[b, i])
        for b, i in ((0, 1), (0, 2), (1, 0))) * 0.1 / 2
    assert torch.allclose(a, expected, atol=1e-6)


def test_klr_loss_errors_and_empty_mask():
    head = TextKLRHead(in_channels=3, vocab_size=5, mask_token_id=4)
    feats = torch.randn(1, 2, 3, requires_grad=True)
    with pytest.raises(ValueError, match='target ids'):
        head.loss(feats, torch.randn(1, 3), torch.tensor([[7, -100]]))
    with pytest.raises(ValueError, match='targets'):
        head.loss(feats, torch.randn(1, 3), torch.tensor([[1]]))
    with pytest.raises(ValueError, match='paired global'):
        head.loss(feats, torch.randn(2, 3), torch.tensor([[1, -100]]))
    zero = head.loss(feats, torch.randn(1, 3), torch.tensor([[-100, -100]]))
    assert zero.item() == 0
    zero.backward()  # still part of the graph
    with pytest.raises(RuntimeError, match='mask_token_id'):
        TextKLRHead(in_channels=3).mask_tokens(
            torch.zeros(1, 2, dtype=torch.long),
            torch.zeros(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match='normalize'):
        TextKLRHead(in_channels=3, normalize='mean')


def test_image_mask_patches_eq14_and_targets():
    head = ImageKLRHead(in_channels=4, mask_channels=6, vocab_size=8)
    patches = torch.randn(2, 5, 6)
    selected = torch.tensor([[True, False, False, True, False],
                             [False, False, False, False, True]])
    out = head.mask_patches(patches, selected)
    assert torch.equal(out[~selected], patches[~selected])
    assert torch.allclose(out[selected],
                          head.mask_token.detach().expand(3, -1))
    codes = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 0, 1, 2]])
    targets = head.build_targets(codes, selected)
    assert targets.tolist() == [[1, -100, -100, 4, -100],
                                [-100, -100, -100, -100, 2]]
    # gradient reaches the mask embedding
    out.sum().backward()
    assert head.mask_token.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='patch embeddings'):
        head.mask_patches(torch.randn(2, 5, 4), selected)
    with pytest.raises(ValueError, match='patch grid'):
        head.build_targets(codes[:, :4], selected)


def test_image_klr_loss_eq16_17():
    head = ImageKLRHead(in_channels=2, mask_channels=3, vocab_size=2,
                        loss_weight=0.1)
    _set_identity_head(head)
    feats = torch.tensor([[[1., 0.], [0., 0.]], [[0., 3.], [2., 2.]]])
    txt_global = torch.tensor([[0., 1.], [1., 0.]])
    targets = torch.tensor([[1, -100], [-100, 0]])
    loss = head.loss(feats, txt_global, targets)
    terms = [_manual_ce(torch.tensor([1., 1.]), 1),
             _manual_ce(torch.tensor([3., 2.]), 0)]
    assert torch.allclose(loss, 0.1 * sum(terms) / 2, atol=1e-6)
