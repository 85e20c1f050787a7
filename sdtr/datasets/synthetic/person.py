"""Synthetic pedestrian image-caption data for text-based person search.

An identity is a combination of attributes (upper-body colour, lower-body
colour, bag, hat, shoe colour), unique over the whole dataset, so train,
val and test identities are disjoint.  Every identity is photographed
several times "by different cameras": the figure is shifted and scaled,
the background, the brightness and the facing direction change.  Each image
gets 2 captions (different templates and synonyms) naming the attributes.

The images and annotations are written in the real layouts of CUHK-PEDES
(``reid_raw.json``), ICFG-PEDES (``ICFG-PEDES.json``, no val split) and
RSTPReid (``data_captions.json``) and read back with the ordinary loaders.
"""
import json
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from sdtr.utils.progress import Progress
from .cache import materialize

VERSION = 1
PERSON_FORMATS = ('cuhkpedes', 'icfgpedes', 'rstpreid')

UPPER = {
    'red': (40, 40, 210), 'blue': (200, 90, 30), 'green': (60, 170, 60),
    'yellow': (40, 210, 230), 'white': (245, 245, 245),
    'black': (25, 25, 25), 'grey': (135, 135, 135),
    'purple': (170, 50, 140),
}
LOWER = {
    'black': (25, 25, 25), 'blue': (150, 70, 30), 'grey': (125, 125, 125),
    'white': (235, 235, 235), 'brown': (40, 75, 125),
    'red': (40, 40, 190),
}
BAGS = ('none', 'backpack', 'handbag')
HATS = (False, True)
SHOES = {'black': (20, 20, 20), 'white': (240, 240, 240)}
BACKGROUNDS = ((110, 120, 125), (90, 100, 90), (150, 140, 130),
               (70, 80, 100), (160, 160, 150), (120, 100, 80))
SKIN = (140, 170, 210)
BAG_COLOUR = (30, 60, 100)
HAT_COLOUR = (90, 40, 40)

TOPS = ('shirt', 'jacket', 't-shirt', 'coat')
BOTTOMS = ('trousers', 'pants', 'jeans')
PEOPLE = ('person', 'pedestrian')


def identity_captions(attrs, rng, num=2):
    """``num`` different captions of one identity's image."""
    up, lo, bag, hat, shoe = attrs
    top = TOPS[int(rng.integers(0, len(TOPS)))]
    bottom = BOTTOMS[int(rng.integers(0, len(BOTTOMS)))]
    who = PEOPLE[int(rng.integers(0, len(PEOPLE)))]
    bag_a = {'none': '', 'backpack': ', carrying a backpack',
             'handbag': ', carrying a handbag'}[bag]
    bag_b = {'none': ' No bag is carried.',
             'backpack': ' A backpack is on the back.',
             'handbag': ' A handbag hangs by the side.'}[bag]
    hat_a = ', wearing a hat' if hat else ''
    hat_b = 'wears a hat and ' if hat else 'wears no hat and '
    caps = [
        f'A {who} in a {up} {top} and {lo} {bottom}{bag_a}{hat_a}, with '
        f'{shoe} shoes.',
        f'The {who} {hat_b}has a {up} {top}, {lo} {bottom} and {shoe} '
        f'shoes.{bag_b}',
        f'This {who} is dressed in a {up} {top} with {lo} {bottom} and '
        f'{shoe} shoes{bag_a}{hat_a}.',
    ]
    order = rng.permutation(len(caps))[:num]
    return [caps[i] for i in order.tolist()]


def render_person(attrs, h, w, rng):
    """Draw one pedestrian image (BGR uint8, ``h x w``) of an identity."""
    up, lo, bag, hat, shoe = attrs
    bg = np.asarray(BACKGROUNDS[int(rng.integers(0, len(BACKGROUNDS)))],
                    np.float32)
    grad = np.linspace(-20, 20, h, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(bg, (h, w, 3)) + grad * rng.uniform(-1, 1)
    img = np.ascontiguousarray(img, dtype=np.float32)
    floor = int(h * rng.uniform(0.82, 0.95))
    img[floor:] *= 0.8
    s = rng.uniform(0.8, 0.95)  # scale
    ph = h * s
    cx = w / 2 + rng.uniform(-0.1, 0.1) * w
    top = h * 0.01 + rng.uniform(0, max(1e-6, h * 0.99 - ph))
    bw = w * 0.42 * s  # body width

    def rect(y0, y1, x0, x1, c):
        cv2.rectangle(img, (int(round(x0)), int(round(y0))),
                      (int(round(x1)), int(round(y1))), c, -1)

    head_r = ph * 0.065
    head_y = top + ph * 0.09
    torso0, torso1 = top + ph * 0.16, top + ph * 0.52
    leg1 = top + ph * 0.93
    facing = 1 if rng.random() < 0.5 else -1
    # bag behind the body (backpack) is drawn first
    if bag == 'backpack':
        x = cx + facing * (-bw / 2 - bw * 0.22)
        rect(torso0 + ph * 0.02, torso0 + ph * 0.27, x - bw * 0.2,
             x + bw * 0.2, BAG_COLOUR)
    # legs
    rect(torso1, leg1, cx - bw / 2 + 1, cx - 1, LOWER[lo])
    rect(torso1, leg1, cx + 1, cx + bw / 2 - 1, LOWER[lo])
    # shoes
    rect(leg1, leg1 + ph * 0.05, cx - bw / 2, cx - 1, SHOES[shoe])
    rect(leg1, leg1 + ph * 0.05, cx + 1, cx + bw / 2, SHOES[shoe])
    # torso and arms
    rect(torso0, torso1, cx - bw / 2, cx + bw / 2, UPPER[up])
    rect(torso0, torso1 - ph * 0.04, cx - bw / 2 - bw * 0.18, cx - bw / 2,
         UPPER[up])
    rect(torso0, torso1 - ph * 0.04, cx + bw / 2, cx + bw / 2 + bw * 0.18,
         UPPER[up])
    # head and hat
    cv2.circle(img, (int(round(cx)), int(round(head_y))),
               max(2, int(round(head_r))), SKIN, -1)
    if hat:
        rect(head_y - head_r * 1.6, head_y - head_r * 0.4,
             cx - head_r * 1.3, cx + head_r * 1.3, HAT_COLOUR)
    if bag == 'handbag':
        x = cx + facing * (bw / 2 + bw * 0.3)
        rect(torso1 - ph * 0.04, torso1 + ph * 0.08, x - bw * 0.17,
             x + bw * 0.17, BAG_COLOUR)
    img = img * rng.uniform(0.75, 1.25) + rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _person_writer(num_train_ids, num_val_ids, num_test_ids, images_per_id,
                   img_h, img_w, seed, formats):

    def write(root: Path) -> dict:
        rng = np.random.default_rng(seed)
        combos = [(u, lo, b, ht, sh) for u in UPPER for lo in LOWER
                  for b in BAGS for ht in HATS for sh in SHOES]
        total = num_train_ids + num_val_ids + num_test_ids
        if total > len(combos):
            raise ValueError(f'at most {len(combos)} identities')
        perm = rng.permutation(len(combos))[:total]
        people = []
        progress = Progress(total * images_per_id,
                            'synthetic person data', unit='image')
        for n, c in enumerate(perm.tolist()):
            split = ('train' if n < num_train_ids else
                     'val' if n < num_train_ids + num_val_ids else 'test')
            imgs = []
            for k in range(images_per_id):
                irng = np.random.default_rng([seed, n, k])
                img = render_person(combos[c], img_h, img_w, irng)
                ok, buf = cv2.imencode('.png', img)
                imgs.append(dict(cam=int(irng.integers(1, 7)), k=k,
                                 png=buf.tobytes(),
                                 captions=identity_captions(combos[c], irng)))
                progress.update()
            people.append(dict(n=n, split=split, attrs=combos[c],
                               images=imgs))
        progress.close()
        if 'cuhkpedes' in formats:
            _write_cuhk(root / 'CUHK-PEDES', people)
        if 'icfgpedes' in formats:
            _write_icfg(root / 'ICFG-PEDES', people)
        if 'rstpreid' in formats:
            _write_rstp(root / 'RSTPReid', people)
        return dict(
            identities=[dict(n=p['n'], split=p['split'],
                             attrs=list(p['attrs'])) for p in people],
            counts={s: sum(p['split'] == s for p in people)
                    for s in ('train', 'val', 'test')})

    return write


def _save(path: Path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _dump(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)


def _write_cuhk(d: Path, people):
    # ids 1-based and contiguous over train, then val, then test (as in the
    # release, where IRRA's train pid is id - 1)
    out = []
    for p in people:
        pid = p['n'] + 1
        for im in p['images']:
            rel = f"synth/{pid:04d}_c{im['cam']}_{im['k']}.png"
            _save(d / 'imgs' / rel, im['png'])
            out.append(dict(
                split=p['split'], captions=im['captions'], file_path=rel,
                processed_tokens=[c.lower().rstrip('.').replace(',', ' ,')
                                  .split() for c in im['captions']],
                id=pid))
    _dump(d / 'reid_raw.json', out)


def _write_icfg(d: Path, people):
    # no val split: val identities are left out; ids start at 0
    out, nid = [], 0
    for p in people:
        if p['split'] == 'val':
            continue
        for im in p['images']:
            rel = (f"{p['split']}/{nid:04d}/{nid:04d}_c{im['cam']}_"
                   f"{im['k']}.png")
            _save(d / 'imgs' / rel, im['png'])
            out.append(dict(split=p['split'], captions=im['captions'],
                            file_path=rel, id=nid))
        nid += 1
    _dump(d / 'ICFG-PEDES.json', out)


def _write_rstp(d: Path, people):
    out = []
    for p in people:
        pid = p['n']
        for im in p['images']:
            rel = f"{pid:04d}_c{im['cam']}_{im['k']:04d}.png"
            _save(d / 'imgs' / rel, im['png'])
            out.append(dict(id=pid, img_path=rel, captions=im['captions'],
                            split=p['split']))
    _dump(d / 'data_captions.json', out)


def make_synthetic_person(out_dir: Optional[str] = None,
                          num_train_ids: int = 64,
                          num_val_ids: int = 16,
                          num_test_ids: int = 32,
                          images_per_id: int = 4,
                          img_size: Sequence[int] = (96, 32),
                          seed: int = 0,
                          formats: Sequence[str] = PERSON_FORMATS,
                          force: bool = False) -> str:
    """Generate (once) the synthetic text-based person-search dataset.

    Layout of the returned folder (each sub-folder is a ``data_root`` in the
    layout of the real dataset)::

        CUHK-PEDES/reid_raw.json, CUHK-PEDES/imgs/synth/<id>_c<cam>_<k>.png
        ICFG-PEDES/ICFG-PEDES.json, ICFG-PEDES/imgs/{train,test}/...
                                    (no val split)
        RSTPReid/data_captions.json, RSTPReid/imgs/<id>_c<cam>_<k>.png
        meta.json

    Args:
        out_dir (str, optional): target folder; default
            ``$SDTR_CACHE/synthetic/synthetic_person-v1-<hash>``.
        num_train_ids, num_val_ids, num_test_ids (int): identities per
            split (disjoint).
        images_per_id (int): images ("camera views") per identity.
        img_size (tuple[int, int]): ``(height, width)``.
        seed (int): random seed; the same arguments give the same bytes.
        formats (Sequence[str]): subset of ``('cuhkpedes', 'icfgpedes',
            'rstpreid')``.
        force (bool): regenerate even when cached.

    Returns:
        str: the dataset folder.
    """
    formats = tuple(sorted(set(formats)))
    bad = set(formats) - set(PERSON_FORMATS)
    if bad:
        raise ValueError(f'unknown formats {sorted(bad)}; choose from '
                         f'{PERSON_FORMATS}')
    if min(num_train_ids, num_test_ids) < 1 or num_val_ids < 0 or \
            images_per_id < 1:
        raise ValueError('need >= 1 train and test identity and image')
    h, w = (int(img_size), int(img_size)) if isinstance(
        img_size, (int, np.integer)) else (int(img_size[0]), int(img_size[1]))
    params = dict(num_train_ids=int(num_train_ids),
                  num_val_ids=int(num_val_ids),
                  num_test_ids=int(num_test_ids),
                  images_per_id=int(images_per_id), img_size=[h, w],
                  seed=int(seed), formats=list(formats))
    writer = _person_writer(int(num_train_ids), int(num_val_ids),
                            int(num_test_ids), int(images_per_id), h, w,
                            int(seed), formats)
    return str(materialize('synthetic_person', VERSION, params, writer,
                           out_dir=out_dir, force=force))
