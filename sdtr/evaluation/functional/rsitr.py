"""Remote-sensing image-text retrieval recall (R@K both ways and mR).

Definitions (PIR-ITR ``itm_eval``, LAVIS, RemoteCLIP/clip_benchmark):

* **i2t**: query = image, gallery = all captions.  An image is a hit at K if
  *any* of its ground-truth captions is among its top K captions, i.e. the
  min-rank rule: ``rank = min over its captions``.
* **t2i**: query = caption, gallery = all images; hit at K if its (single)
  image is among the top K images.
* **mR** = mean of the i2t and t2i recalls (the six numbers for the default
  ``topk=(1, 5, 10)``).

All values are percentages (python floats).  Ties follow the rule in
:mod:`sdtr.evaluation.functional._common`: a ground-truth item with the same
similarity as a wrong item is ranked before it, so the rank of a query is
the number of *wrong* items with a strictly greater similarity.

Images without any caption have no i2t rank: both functions raise
``ValueError`` rather than silently dropping them (which would change the
denominator); every caption must belong to a valid image.
"""
from typing import Iterable, Optional, Tuple, Union

import torch
from torch import Tensor

from ._common import (add_greater_counts, block_pairs, check_feature_pair,
                      check_index_vector, check_sims, check_topk,
                      count_dtype, dense_sorted_matches, exact_fp32_matmul,
                      paired_dots, resolve_chunk, rsitr_results,
                      work_buffer, work_cell_bytes)

__all__ = ['rsitr_recall', 'rsitr_recall_from_features']


def _check_all_images_captioned(txt2img: Tensor, num_images: int) -> None:
    n_caps = torch.bincount(txt2img, minlength=num_images)
    empty = (n_caps == 0).nonzero().flatten()
    if empty.numel():
        raise ValueError(
            f'{empty.numel()} image(s) have no caption (first: '
            f'{empty[:10].tolist()}); their image-to-text rank is undefined. '
            'Remove them from the gallery or give them captions.')


def _first_true(m: Tensor) -> Tensor:
    """Index of the first True of each row (rows are known to have one)."""
    return m.to(torch.uint8).argmax(dim=1).cpu().long()


def rsitr_recall(sims: Tensor,
                 txt2img,
                 topk: Union[int, Iterable[int]] = (1, 5, 10)) -> dict:
    """Exact RSITR recall from a dense similarity matrix.

    Args:
        sims (Tensor): ``[num_images, num_texts]`` image-text similarities.
        txt2img (LongTensor | sequence): ``[num_texts]``, the index of the
            image of every caption.
        topk (int | sequence[int]): the K of R@K. Defaults to (1, 5, 10).

    Returns:
        dict: ``i2t_R@K`` for each K, then ``t2i_R@K``, then ``mR``
        (percentages).  Ties: a ground-truth item wins a tie against a wrong
        one (see module docstring).

    Raises:
        ValueError: an image has no caption, bad shapes or non-finite sims.

    Memory is O(num_images * num_texts); for big galleries use
    :func:`rsitr_recall_from_features`.
    """
    topk = check_topk(topk)
    check_sims(sims)
    num_images, num_texts = sims.shape
    txt2img = check_index_vector(txt2img, 'txt2img', num_texts, num_images)
    if num_images == 0 or num_texts == 0:
        raise ValueError('sims must have at least one image and one text')
    _check_all_images_captioned(txt2img, num_images)
    g = txt2img.to(sims.device)
    pos = g.unsqueeze(0) == torch.arange(
        num_images, device=sims.device).unsqueeze(1)
    i2t_first = _first_true(dense_sorted_matches(sims, pos))
    t2i_first = _first_true(dense_sorted_matches(sims.t(), pos.t()))
    return rsitr_results(i2t_first, t2i_first, topk)


def rsitr_recall_from_features(
        img_feats: Tensor,
        txt_feats: Tensor,
        txt2img,
        topk: Union[int, Iterable[int]] = (1, 5, 10),
        chunk_size: Optional[Union[int, Tuple[int, int]]] = None,
        max_memory: Optional[int] = None) -> dict:
    """Exact RSITR recall from features, in bounded memory.

    Equal to ``rsitr_recall(img_feats @ txt_feats.T, txt2img, topk)`` but
    never builds the similarity matrix nor sorts a row.  The images are
    processed in blocks of ``rows`` and the captions in blocks of ``cols``;
    each block of the product is compared against

    * ``s*[i]``: the best similarity of image ``i`` with its own captions
      (i2t rank = number of other captions scoring strictly higher), and
    * ``s_gt[t]``: the similarity of caption ``t`` with its own image
      (t2i rank = number of other images scoring strictly higher).

    The ground-truth pairs are computed with a separate dot product and are
    excluded from the counts *by index*, so rounding can never count a pair
    against itself.  (Wrong pairs closer than float rounding, ~1e-7, to a
    ground-truth score are ties decided on the values as computed here.)
    Products run in float32 with TF32/bf16 disabled.  The loop over blocks
    only enqueues device work (no host synchronisation until the final
    counts), so on a GPU the cost is the product plus two comparisons and
    reductions per similarity, see :func:`._common.add_greater_counts`.

    Args:
        img_feats (Tensor): ``[num_images, D]``.
        txt_feats (Tensor): ``[num_texts, D]`` on the same device.
        txt2img (LongTensor | sequence): ``[num_texts]`` caption -> image.
        topk (int | sequence[int]): K values. Defaults to (1, 5, 10).
        chunk_size (int | (int, int), optional): block shape
            ``(images, captions)``; default 512 x 1024 on CPU, 2**26 cells
            on a GPU (fewer if a quarter of the free memory is less).
        max_memory (int, optional): byte budget of the work buffers (a
            float32 similarity and an indicator per block cell: 8 bytes on
            a CPU, 5 on a GPU) when ``chunk_size`` is not given.

    Returns:
        dict: same keys and values as :func:`rsitr_recall`.
    """
    topk = check_topk(topk)
    num_images, num_texts = check_feature_pair(img_feats, txt_feats,
                                               ('img_feats', 'txt_feats'))
    txt2img = check_index_vector(txt2img, 'txt2img', num_texts, num_images)
    _check_all_images_captioned(txt2img, num_images)
    dev = img_feats.device
    rows, cols = resolve_chunk(chunk_size, max_memory, num_images, num_texts,
                               dev, bytes_per_cell=work_cell_bytes(dev))
    with torch.no_grad(), exact_fp32_matmul():
        i2t, t2i = _count_higher(img_feats.float(), txt_feats.float(),
                                 txt2img, rows, cols)
    return rsitr_results(i2t.cpu().long(), t2i.cpu().long(), topk)


def _count_higher(img: Tensor, txt: Tensor, txt2img: Tensor, rows: int,
                  cols: int) -> Tuple[Tensor, Tensor]:
    """The first rank of every image (i2t) and caption (t2i): the number of
    wrong items scoring strictly higher than the best ground truth, counted
    over ``rows x cols`` blocks of ``img @ txt.T``."""
    num_images, num_texts = img.shape[0], txt.shape[0]
    dev = img.device
    g = txt2img.to(dev)
    # ground-truth (image, caption) pairs grouped by block, block-local
    # coordinates on the device, block bounds on the host
    gt_rows, gt_cols, cut, n_cb = block_pairs(txt2img,
                                              torch.arange(num_texts), rows,
                                              cols, num_images, num_texts, dev)
    # s_gt[t]: caption t with its image; s_star[i]: image i's best caption
    s_gt = paired_dots(img, g, txt, torch.arange(num_texts, device=dev))
    s_star = torch.full((num_images, ), float('-inf'), device=dev)
    s_star.scatter_reduce_(0, g, s_gt, reduce='amax')
    i2t_cnt = torch.zeros(
        num_images, dtype=count_dtype(num_texts + 1, dev), device=dev)
    t2i_cnt = torch.zeros(
        num_texts, dtype=count_dtype(num_images + 1, dev), device=dev)
    buf = torch.empty(rows * cols, device=dev)
    work = work_buffer(rows * cols, dev)
    ones = torch.ones(max(rows, cols), device=dev)
    for rb, i0 in enumerate(range(0, num_images, rows)):
        i1 = min(i0 + rows, num_images)
        thr_row = s_star[i0:i1].unsqueeze(1)
        for cb, t0 in enumerate(range(0, num_texts, cols)):
            t1 = min(t0 + cols, num_texts)
            s = buf[:(i1 - i0) * (t1 - t0)].view(i1 - i0, t1 - t0)
            torch.mm(img[i0:i1], txt[t0:t1].t(), out=s)
            lo, hi = cut[rb * n_cb + cb], cut[rb * n_cb + cb + 1]
            if hi > lo:  # exclude ground-truth pairs by index
                s[gt_rows[lo:hi], gt_cols[lo:hi]] = float('-inf')
            # i2t: captions above the image's best own caption
            add_greater_counts(i2t_cnt[i0:i1], s, thr_row, work, ones)
            # t2i: images above the caption's own image
            add_greater_counts(t2i_cnt[t0:t1], s, s_gt[t0:t1].unsqueeze(0),
                               work, ones, dim=0)
    return i2t_cnt, t2i_cnt
