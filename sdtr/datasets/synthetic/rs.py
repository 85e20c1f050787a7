"""Synthetic remote-sensing-like image-caption data.

Every image is an aerial-looking scene (10 categories, each with its own
background colour and texture) holding one group of 1-4 objects of one kind
(plane, ship, car, house, tree, storage tank) and one colour in one place
(top left, top right, bottom left, bottom right, centre).  Within a scene the
(kind, colour, count, place) combinations are drawn without repetition, so
a caption identifies its image and retrieval needs the small details, not
just the scene.  Each image gets 5 different captions (distinct templates,
random synonyms) that name exactly what is drawn.

Files are written in the real annotation formats (Karpathy json, GaLR txt,
COCO-captions json, PIR json) and read back with the ordinary loaders.
"""
import json
from pathlib import Path
from typing import Optional, Sequence

import cv2
import numpy as np

from sdtr.utils.progress import Progress
from .cache import materialize

VERSION = 1
RS_FORMATS = ('karpathy', 'galr', 'coco', 'pir')

SCENES = ('airport', 'farmland', 'forest', 'harbor', 'residential',
          'desert', 'beach', 'parking', 'river', 'stadium')
SCENE_WORDS = {
    'airport': ('airport', 'airfield'),
    'farmland': ('farmland', 'cropland'),
    'forest': ('forest', 'woodland'),
    'harbor': ('harbor', 'port'),
    'residential': ('residential area', 'neighbourhood'),
    'desert': ('desert', 'sandy desert'),
    'beach': ('beach', 'coast'),
    'parking': ('parking lot', 'car park'),
    'river': ('river', 'riverside area'),
    'stadium': ('stadium', 'sports ground'),
}
KINDS = ('plane', 'ship', 'car', 'house', 'tree', 'tank')
KIND_WORDS = {
    'plane': (('plane', 'planes'), ('airplane', 'airplanes')),
    'ship': (('ship', 'ships'), ('boat', 'boats')),
    'car': (('car', 'cars'), ('vehicle', 'vehicles')),
    'house': (('house', 'houses'), ('building', 'buildings')),
    'tree': (('tree', 'trees'), ('bush', 'bushes')),
    'tank': (('storage tank', 'storage tanks'), ('oil tank', 'oil tanks')),
}
# BGR colours
COLOURS = {
    'red': (30, 30, 220),
    'yellow': (20, 220, 240),
    'white': (250, 250, 250),
    'black': (15, 15, 15),
    'purple': (200, 40, 150),
    'orange': (0, 140, 255),
}
COLOUR_NAMES = tuple(COLOURS)
COUNT_WORDS = {1: ('one', 'a single'), 2: ('two', 'a pair of'),
               3: ('three', 'three'), 4: ('four', 'four')}
PLACES = ('top left', 'top right', 'bottom left', 'bottom right', 'centre')
PLACE_WORDS = {
    'top left': ('top left', 'upper left'),
    'top right': ('top right', 'upper right'),
    'bottom left': ('bottom left', 'lower left'),
    'bottom right': ('bottom right', 'lower right'),
    'centre': ('centre', 'middle'),
}
TEMPLATES = (
    '{count} {colour} {kinds} in the {place} of the {scene}.',
    '{an_aerial} image of {a_scene} with {count} {colour} {kinds} at the '
    '{place}.',
    'there {are} {count} {colour} {kinds} in the {place} part of this '
    '{scene}.',
    '{a_scene} where {count} {colour} {kinds} {are} located in the {place}.',
    'remote sensing image of {a_scene} , {count} {colour} {kinds} near the '
    '{place}.',
    '{count} {colour} {kinds} {are} seen at the {place} of {a_scene}.',
    'the {place} of this {scene} contains {count} {colour} {kinds}.',
    'in {a_scene} , {count} {colour} {kinds} {are} visible in the {place} '
    'area.',
)


def _article(word: str) -> str:
    return ('an ' if word[0] in 'aeiou' else 'a ') + word


def _clip(img):
    return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# backgrounds
# ---------------------------------------------------------------------------
def _background(scene: str, s: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
    img = np.zeros((s, s, 3), np.float32)

    def fill(c):
        img[:] = np.asarray(c, np.float32)

    if scene == 'airport':
        fill((150, 150, 150))
        w = int(s * rng.uniform(0.18, 0.26))
        o = int(rng.integers(0, s - w))
        if rng.random() < 0.5:
            img[o:o + w] = (70, 70, 70)
            img[o + w // 2, ::6] = (235, 235, 235)
        else:
            img[:, o:o + w] = (70, 70, 70)
            img[::6, o + w // 2] = (235, 235, 235)
    elif scene == 'farmland':
        ang = rng.uniform(0, np.pi)
        period = rng.uniform(0.12, 0.25)
        ph = rng.uniform(0, 1)
        t = ((xx * np.cos(ang) + yy * np.sin(ang)) / period + ph) % 1.0
        a = np.array((60, 170, 90), np.float32)
        b = np.array((70, 150, 190), np.float32)
        img[:] = np.where((t < 0.5)[..., None], a, b)
    elif scene == 'forest':
        fill((40, 95, 35))
        for _ in range(int(s * s / 40)):
            c = (int(rng.integers(0, s)), int(rng.integers(0, s)))
            g = float(rng.uniform(-25, 25))
            cv2.circle(img, c, int(rng.integers(2, 5)),
                       (40 + g, 95 + g, 35 + g), -1)
    elif scene == 'harbor':
        fill((150, 90, 40))
        w = int(s * rng.uniform(0.15, 0.25))
        side = int(rng.integers(0, 4))
        if side == 0:
            img[:w] = (160, 160, 160)
        elif side == 1:
            img[-w:] = (160, 160, 160)
        elif side == 2:
            img[:, :w] = (160, 160, 160)
        else:
            img[:, -w:] = (160, 160, 160)
    elif scene == 'residential':
        fill((150, 190, 210))
        step = int(s * rng.uniform(0.3, 0.45))
        o = int(rng.integers(0, step))
        for k in range(o, s, step):
            img[k:k + 2] = (185, 185, 185)
            img[:, k:k + 2] = (185, 185, 185)
    elif scene == 'desert':
        ph = rng.uniform(0, 2 * np.pi)
        fr = rng.uniform(3, 6)
        wave = np.sin((xx * 0.6 + yy) * fr * np.pi + ph)
        base = np.array((120, 190, 225), np.float32)
        img[:] = base + wave[..., None] * 12
    elif scene == 'beach':
        ang = rng.uniform(0, 2 * np.pi)
        off = rng.uniform(-0.15, 0.15)
        t = (xx - 0.5) * np.cos(ang) + (yy - 0.5) * np.sin(ang) + off
        t = t + 0.04 * np.sin(yy * 20 + ang)
        img[:] = np.where((t < 0)[..., None],
                          np.array((140, 200, 230), np.float32),
                          np.array((180, 130, 60), np.float32))
    elif scene == 'parking':
        fill((60, 60, 60))
        step = int(rng.integers(5, 8))
        o = int(rng.integers(0, step))
        for k in range(o, s, step):
            img[:, k] = (230, 230, 230)
        a = int(rng.integers(s // 3, 2 * s // 3))
        img[a:a + max(2, s // 10)] = (60, 60, 60)
    elif scene == 'river':
        fill((70, 140, 80))
        amp = rng.uniform(0.08, 0.2)
        fr = rng.uniform(1, 2.5)
        ph = rng.uniform(0, 2 * np.pi)
        centre = 0.5 + amp * np.sin(xx * fr * 2 * np.pi + ph)
        w = rng.uniform(0.08, 0.14)
        if rng.random() < 0.5:
            mask = np.abs(yy - centre) < w
        else:
            centre = 0.5 + amp * np.sin(yy * fr * 2 * np.pi + ph)
            mask = np.abs(xx - centre) < w
        img[mask] = (170, 110, 40)
    elif scene == 'stadium':
        fill((60, 160, 60))
        c = (s // 2 + int(rng.integers(-3, 4)),
             s // 2 + int(rng.integers(-3, 4)))
        axes = (int(s * rng.uniform(0.36, 0.44)),
                int(s * rng.uniform(0.24, 0.32)))
        cv2.ellipse(img, c, axes, 0, 0, 360, (60, 80, 170),
                    max(2, s // 16))
    else:  # pragma: no cover
        raise ValueError(scene)
    img += rng.normal(0, 5, img.shape).astype(np.float32)
    img *= rng.uniform(0.92, 1.08)
    return img


# ---------------------------------------------------------------------------
# objects
# ---------------------------------------------------------------------------
def _outline(colour):
    return (255, 255, 255) if sum(colour) < 150 else (10, 10, 10)


def _draw_object(img, kind, colour, cx, cy, r, rng):
    ol = _outline(colour)
    cx, cy, r = int(cx), int(cy), max(2, int(r))
    if kind == 'plane':
        horiz = rng.random() < 0.5
        t = max(1, r // 3)
        if horiz:
            cv2.rectangle(img, (cx - r, cy - t), (cx + r, cy + t), ol, -1)
            cv2.rectangle(img, (cx - t, cy - r), (cx + t, cy + r), ol, -1)
            cv2.rectangle(img, (cx - r + 1, cy - t + 1),
                          (cx + r - 1, cy + t - 1), colour, -1)
            cv2.rectangle(img, (cx - t + 1, cy - r + 1),
                          (cx + t - 1, cy + r - 1), colour, -1)
        else:
            cv2.rectangle(img, (cx - t, cy - r), (cx + t, cy + r), ol, -1)
            cv2.rectangle(img, (cx - r, cy - t), (cx + r, cy + t), ol, -1)
            cv2.rectangle(img, (cx - t + 1, cy - r + 1),
                          (cx + t - 1, cy + r - 1), colour, -1)
            cv2.rectangle(img, (cx - r + 1, cy - t + 1),
                          (cx + r - 1, cy + t - 1), colour, -1)
    elif kind == 'ship':
        ang = float(rng.choice([0, 45, 90, 135]))
        cv2.ellipse(img, (cx, cy), (r + 1, max(1, r // 2) + 1), ang, 0, 360,
                    ol, -1)
        cv2.ellipse(img, (cx, cy), (r, max(1, r // 2)), ang, 0, 360, colour,
                    -1)
    elif kind == 'car':
        w, h = r, max(1, (2 * r) // 3)
        if rng.random() < 0.5:
            w, h = h, w
        cv2.rectangle(img, (cx - w - 1, cy - h - 1), (cx + w + 1, cy + h + 1),
                      ol, -1)
        cv2.rectangle(img, (cx - w, cy - h), (cx + w, cy + h), colour, -1)
    elif kind == 'house':
        cv2.rectangle(img, (cx - r, cy - r), (cx + r, cy + r), ol, -1)
        cv2.rectangle(img, (cx - r + 1, cy - r + 1), (cx + r - 1, cy + r - 1),
                      colour, -1)
        cv2.line(img, (cx - r + 1, cy - r + 1), (cx + r - 1, cy + r - 1), ol,
                 1)
    elif kind == 'tree':
        cv2.circle(img, (cx, cy), r + 1, ol, -1)
        cv2.circle(img, (cx, cy), r, colour, -1)
        cv2.circle(img, (cx - r // 3, cy - r // 3), max(1, r // 3),
                   (40, 120, 40), -1)
    elif kind == 'tank':
        cv2.circle(img, (cx, cy), r + 1, ol, -1)
        cv2.circle(img, (cx, cy), r, colour, -1)
        cv2.circle(img, (cx, cy), max(1, r // 2), ol, 1)
        cv2.circle(img, (cx, cy), 1, ol, -1)
    else:  # pragma: no cover
        raise ValueError(kind)


def _place_box(place: str, s: int):
    h = s / 2.0
    return {
        'top left': (0, 0), 'top right': (h, 0), 'bottom left': (0, h),
        'bottom right': (h, h), 'centre': (s / 4.0, s / 4.0)
    }[place]


def render_rs_image(scene, kind, colour, count, place, size, rng):
    """Draw one synthetic aerial image (BGR uint8, ``size x size``)."""
    img = _background(scene, size, rng)
    x0, y0 = _place_box(place, size)
    cell = size / 4.0  # the place box is 2x2 cells
    r = size / 10.0
    slots = rng.permutation(4)[:count]
    for slot in sorted(slots.tolist()):
        cx = x0 + cell * (slot % 2 + 0.5) + rng.uniform(-0.12, 0.12) * cell
        cy = y0 + cell * (slot // 2 + 0.5) + rng.uniform(-0.12, 0.12) * cell
        _draw_object(img, kind, COLOURS[colour], cx, cy,
                     r * rng.uniform(0.85, 1.1), rng)
    return _clip(img)


def rs_captions(scene, kind, colour, count, place, rng, num=5):
    """``num`` different captions describing the drawn content."""
    order = rng.permutation(len(TEMPLATES))[:num]
    caps = []
    for t in order.tolist():
        sw = SCENE_WORDS[scene][int(rng.integers(0, 2))]
        kw = KIND_WORDS[kind][int(rng.integers(0, 2))]
        cw = COUNT_WORDS[count][int(rng.integers(0, 2))]
        pw = PLACE_WORDS[place][int(rng.integers(0, 2))]
        text = TEMPLATES[t].format(
            count=cw, colour=colour, kinds=kw[0] if count == 1 else kw[1],
            place=pw, scene=sw, a_scene=_article(sw),
            are='is' if count == 1 else 'are', an_aerial='an aerial')
        caps.append(text[0].upper() + text[1:])
    return caps


# ---------------------------------------------------------------------------
def _split_sizes(num_images, num_train, num_val, num_test):
    if num_images is None:
        return num_train, num_val, num_test
    n_val = max(1, round(num_images * 80 / 680))
    n_test = max(1, round(num_images * 120 / 680))
    return num_images - n_val - n_test, n_val, n_test


def _write_image(path: Path, img, ext):
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext in ('jpg', 'jpeg') else []
    ok, buf = cv2.imencode('.' + ext, img, params)
    if not ok:  # pragma: no cover
        raise RuntimeError(f'cv2 could not encode {path}')
    path.write_bytes(buf.tobytes())


def _rs_writer(num_train, num_val, num_test, img_size, seed, formats,
               image_ext, num_scenes):
    scenes = SCENES[:num_scenes]

    def write(root: Path) -> dict:
        rng = np.random.default_rng(seed)
        combos = [(k, c, n, p) for k in KINDS for c in COLOUR_NAMES
                  for n in (1, 2, 3, 4) for p in PLACES]
        perms = {s: rng.permutation(len(combos)) for s in scenes}
        used = {s: 0 for s in scenes}
        total = num_train + num_val + num_test
        (root / 'images').mkdir()
        items = []
        progress = Progress(total, 'synthetic remote-sensing data',
                            unit='image')
        for g in range(total):
            scene = scenes[g % len(scenes)]
            n = used[scene]
            used[scene] += 1
            kind, colour, count, place = combos[perms[scene][n % len(combos)]]
            split = ('train' if g < num_train else
                     'val' if g < num_train + num_val else 'test')
            irng = np.random.default_rng([seed, g])
            img = render_rs_image(scene, kind, colour, count, place, img_size,
                                  irng)
            fname = f'{scene}_{n}.{image_ext}'
            _write_image(root / 'images' / fname, img, image_ext)
            caps = rs_captions(scene, kind, colour, count, place, irng)
            items.append(dict(filename=fname, split=split, scene=scene,
                              kind=kind, colour=colour, count=count,
                              place=place, captions=caps))
            progress.update()
        progress.close()
        _write_formats(root, items, formats, scenes)
        return dict(
            counts={s: sum(it['split'] == s for it in items)
                    for s in ('train', 'val', 'test')},
            scenes=list(scenes), images=items)

    return write


def _dump(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)


def _write_formats(root: Path, items, formats, scenes):
    splits = ('train', 'val', 'test')
    if 'karpathy' in formats:
        images, sid = [], 0
        for i, it in enumerate(items):
            sents = []
            for c in it['captions']:
                sents.append(dict(raw=c, tokens=c.lower().rstrip('.').split(),
                                  imgid=i, sentid=sid))
                sid += 1
            images.append(dict(filename=it['filename'], imgid=i,
                               split=it['split'], sentences=sents,
                               sentids=[s['sentid'] for s in sents]))
        _dump(root / 'karpathy' / 'dataset_synthetic_rs.json',
              dict(images=images, dataset='synthetic_rs'))
    if 'galr' in formats:
        d = root / 'galr'
        d.mkdir()
        names = dict(train=('train_caps.txt', 'train_filename.txt'),
                     val=('val_caps_verify.txt', 'val_filename_verify.txt'),
                     test=('test_caps.txt', 'test_filename.txt'))
        for sp in splits:
            sel = [it for it in items if it['split'] == sp]
            caps = [c for it in sel for c in it['captions']]
            if sp == 'train':  # one file-name line per image
                fn = [it['filename'] for it in sel]
            else:  # one file-name line per caption
                fn = [it['filename'] for it in sel for _ in it['captions']]
            (d / names[sp][0]).write_text('\n'.join(caps) + '\n')
            (d / names[sp][1]).write_text('\n'.join(fn) + '\n')
    if 'coco' in formats:
        aid = 0
        for sp in splits:
            imgs, anns = [], []
            for i, it in enumerate(items):
                if it['split'] != sp:
                    continue
                imgs.append(dict(id=i, file_name=it['filename'],
                                 width=0, height=0))
                for c in it['captions']:
                    anns.append(dict(id=aid, image_id=i, caption=c))
                    aid += 1
            _dump(root / 'coco' / f'captions_{sp}.json',
                  dict(info=dict(description='sdtr synthetic RS'),
                       images=imgs, annotations=anns))
    if 'pir' in formats:
        label_of = {s: i for i, s in enumerate(scenes)}
        for sp in splits:
            sel = [it for it in items if it['split'] == sp]
            if sp == 'train':
                out = [dict(image=it['filename'], caption=c, image_id=k,
                            label_name=it['scene'],
                            label=label_of[it['scene']])
                       for k, it in enumerate(sel) for c in it['captions']]
            else:
                out = [dict(image=it['filename'], caption=it['captions'])
                       for it in sel]
            _dump(root / 'pir' / f'synthetic_rs_{sp}.json', out)


def make_synthetic_rs(out_dir: Optional[str] = None,
                      num_train: int = 480,
                      num_val: int = 80,
                      num_test: int = 120,
                      img_size: int = 64,
                      seed: int = 0,
                      formats: Sequence[str] = RS_FORMATS,
                      image_ext: str = 'png',
                      num_images: Optional[int] = None,
                      num_scenes: int = 10,
                      force: bool = False) -> str:
    """Generate (once) the synthetic remote-sensing caption dataset.

    Layout of the returned folder::

        images/<scene>_<n>.png
        karpathy/dataset_synthetic_rs.json           (all splits)
        galr/{train_caps,train_filename}.txt          (one name per image)
        galr/{val_caps_verify,val_filename_verify}.txt, test_{caps,filename}
                                                      (one name per caption)
        coco/captions_{train,val,test}.json
        pir/synthetic_rs_{train,val,test}.json        (train: per caption)
        meta.json                                     (parameters + ground
                                                       truth per image)

    Args:
        out_dir (str, optional): target folder; default
            ``$SDTR_CACHE/synthetic/synthetic_rs-v1-<hash>``
            (``~/.cache/sdtr`` without ``SDTR_CACHE``).
        num_train, num_val, num_test (int): images per split.
        img_size (int): image side in pixels.
        seed (int): random seed; the same arguments give the same bytes.
        formats (Sequence[str]): subset of ``('karpathy', 'galr', 'coco',
            'pir')``.
        image_ext (str): ``'png'`` or ``'jpg'``.
        num_images (int, optional): total image count, split 480:80:120
            (overrides the three ``num_*``).
        num_scenes (int): scene categories used (2..10).
        force (bool): regenerate even when cached.

    Returns:
        str: the dataset folder.
    """
    formats = tuple(sorted(set(formats)))
    bad = set(formats) - set(RS_FORMATS)
    if bad:
        raise ValueError(f'unknown formats {sorted(bad)}; choose from '
                         f'{RS_FORMATS}')
    if not 2 <= num_scenes <= len(SCENES):
        raise ValueError(f'num_scenes must be in 2..{len(SCENES)}')
    if image_ext not in ('png', 'jpg'):
        raise ValueError("image_ext must be 'png' or 'jpg'")
    ntr, nva, nte = _split_sizes(num_images, num_train, num_val, num_test)
    if min(ntr, nva, nte) < 1:
        raise ValueError('every split needs at least one image')
    params = dict(num_train=ntr, num_val=nva, num_test=nte,
                  img_size=int(img_size), seed=int(seed),
                  formats=list(formats), image_ext=image_ext,
                  num_scenes=int(num_scenes))
    writer = _rs_writer(ntr, nva, nte, int(img_size), int(seed), formats,
                        image_ext, int(num_scenes))
    return str(materialize('synthetic_rs', VERSION, params, writer,
                           out_dir=out_dir, force=force))
