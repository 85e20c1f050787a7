"""Draw ranked retrieval results as one PNG (the layout of PIR Fig. 7).

The query sits on the left (a caption box for text->image, the image for
image->text); the top-k results follow in rank order, each with its rank and
cosine score.  When ground truth is given, correct results get a green frame
(image results) or a green tag (caption results) and wrong ones a red one.
Images smaller than a tile are enlarged to fill it (:func:`fit_tile`).
Drawn with Pillow only.
"""
import os.path as osp
import textwrap
from typing import Optional, Sequence, Union

import numpy as np

GREEN, RED, GREY = (40, 160, 60), (200, 40, 40), (150, 150, 150)


def _font(size: int):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def fit_tile(img, size: int):
    """``img`` scaled to fit a ``size`` x ``size`` tile, keeping its aspect
    ratio: large images are shrunk (anti-aliased), small ones enlarged
    (nearest neighbour from 2x up, so 32-px tiles stay sharp pixels;
    bicubic below)."""
    from PIL import Image
    scale = min(size / img.width, size / img.height)
    if scale <= 1:
        img = img.copy()
        img.thumbnail((size, size), Image.Resampling.LANCZOS)
        return img
    new = (max(1, round(img.width * scale)), max(1, round(img.height *
                                                           scale)))
    method = Image.Resampling.NEAREST if scale >= 2 else \
        Image.Resampling.BICUBIC
    return img.resize(new, method)


def _load_thumb(image, size: int):
    from PIL import Image
    if isinstance(image, np.ndarray):
        img = Image.fromarray(image)
    else:
        with Image.open(image) as src:
            img = src.convert('RGB')
    img = fit_tile(img, size)
    canvas = Image.new('RGB', (size, size), (255, 255, 255))
    canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
    return canvas


def draw_search_results(query: Union[str, np.ndarray],
                        results: Sequence[dict],
                        out_file: str,
                        is_match: Optional[Sequence[bool]] = None,
                        thumb: int = 160,
                        title: Optional[str] = None,
                        query_kind: Optional[str] = None) -> str:
    """Write a PNG of ``results`` (from :meth:`RetrievalInferencer.search`).

    Args:
        query: the caption, or an image (path or HxWx3 uint8 RGB array).
        results: dicts with ``rank``, ``score`` and ``item`` (image path for
            text->image, caption for image->text).
        out_file: PNG path.
        is_match: per result, whether it is correct (frames it green/red).
        thumb: thumbnail side in pixels.
        title: optional line above the grid.
        query_kind: ``'text'`` or ``'image'`` (default: a string that is
            not an existing file is a caption).
    """
    from PIL import Image, ImageDraw
    if is_match is not None and len(is_match) != len(results):
        raise ValueError(f'is_match has {len(is_match)} entries for '
                         f'{len(results)} results')
    if query_kind is None:
        query_kind = 'text' if isinstance(query, str) and not osp.isfile(
            query) else 'image'
    if query_kind not in ('text', 'image'):
        raise ValueError(f"query_kind must be 'text' or 'image', got "
                         f'{query_kind!r}')
    text_query = query_kind == 'text'
    pad, head = 10, 28 if title else 0
    font, small = _font(14), _font(12)
    if text_query:  # caption -> images
        cols = len(results)
        width = pad + thumb + pad + cols * (thumb + pad)
        height = head + pad + thumb + 40 + pad
        canvas = Image.new('RGB', (width, height), (255, 255, 255))
        draw = ImageDraw.Draw(canvas)
        box = [pad, head + pad, pad + thumb, head + pad + thumb]
        draw.rectangle(box, outline=GREY, width=2)
        lines = textwrap.wrap(query, width=max(8, thumb // 8))
        draw.multiline_text((box[0] + 6, box[1] + 6), '\n'.join(lines[:12]),
                            fill=(0, 0, 0), font=small)
        draw.text((pad, head + pad + thumb + 6), 'query', fill=(0, 0, 0),
                  font=font)
        for j, res in enumerate(results):
            x = pad + thumb + pad + j * (thumb + pad)
            y = head + pad
            canvas.paste(_load_thumb(res['item'], thumb), (x, y))
            if is_match is not None:
                color = GREEN if is_match[j] else RED
                draw.rectangle([x - 3, y - 3, x + thumb + 2, y + thumb + 2],
                               outline=color, width=4)
            draw.text((x, y + thumb + 6),
                      f'#{res["rank"]}  {res["score"]:.3f}', fill=(0, 0, 0),
                      font=font)
    else:  # image -> captions
        line_h = 18
        wrapped = [textwrap.wrap(f'#{r["rank"]} ({r["score"]:.3f}) '
                                 f'{r["item"]}', width=90) for r in results]
        rows = sum(len(w) for w in wrapped) + len(results)
        width = pad + thumb + 2 * pad + 90 * 7 + pad
        height = head + pad + max(thumb + 30, rows * line_h) + pad
        canvas = Image.new('RGB', (width, height), (255, 255, 255))
        draw = ImageDraw.Draw(canvas)
        canvas.paste(_load_thumb(query, thumb), (pad, head + pad))
        draw.text((pad, head + pad + thumb + 6), 'query', fill=(0, 0, 0),
                  font=font)
        y = head + pad
        for j, lines in enumerate(wrapped):
            color = (0, 0, 0) if is_match is None else (
                GREEN if is_match[j] else RED)
            draw.multiline_text((pad + thumb + 2 * pad, y), '\n'.join(lines),
                                fill=color, font=small)
            y += (len(lines) + 1) * line_h
    if title:
        draw.text((pad, 6), title, fill=(0, 0, 0), font=font)
    canvas.save(out_file)
    return out_file

