"""RandomAugment = ALBEF / X-VLM / PIR's RandomAugment(2, 7): ops, op count,
and each op's parameter range (hand-computed at magnitude 7 of 10)."""
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image, ImageOps

from sdtr.datasets.transforms import RandomAugment
from sdtr.registry import TRANSFORMS

REPO = Path(__file__).resolve().parents[2]
RELEASED_OPS = {'Identity', 'AutoContrast', 'Equalize', 'Brightness',
                'Sharpness', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY',
                'Rotate'}


def draws(aug, n=3000, seed=0):
    np.random.seed(seed)
    return [aug.sample_ops() for _ in range(n)]


def spot_centroid(img):
    """(x, y) intensity centroid (on a black background, fill 0)."""
    w = img[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:img.shape[0], :img.shape[1]]
    return (w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()


def test_default_ops_are_the_released_list_with_identity():
    aug = RandomAugment()
    assert set(aug.ops) == RELEASED_OPS and len(aug.ops) == 10
    assert 'Identity' in aug.ops
    assert (aug.num_ops, aug.magnitude, aug.max_level, aug.prob) == \
        (2, 7, 10, 0.5)


def test_two_ops_drawn_with_replacement_each_applied_with_prob_half():
    always = RandomAugment(prob=1.0)
    assert all(len(d) == 2 for d in draws(always, 500))
    names = Counter(op for d in draws(always, 2000) for op, _ in d)
    assert set(names) == RELEASED_OPS  # Identity is drawn too
    # with replacement: the same op twice happens (p = 1/10 per image)
    twice = sum(d[0][0] == d[1][0] for d in draws(always, 2000))
    assert 120 < twice < 290
    # each drawn op survives with probability 0.5: 1 op per image on average
    counts = [len(d) for d in draws(RandomAugment(), 4000)]
    assert abs(np.mean(counts) - 1.0) < 0.05
    assert set(counts) == {0, 1, 2}


def test_parameters_at_magnitude_7():
    aug = RandomAugment()
    assert aug.parameter('Brightness') == pytest.approx(1.36)
    assert aug.parameter('Sharpness') == pytest.approx(1.36)
    assert aug.parameter('ShearX') == pytest.approx(0.21)
    assert aug.parameter('TranslateY') == pytest.approx(7.0)
    assert aug.parameter('Rotate') == pytest.approx(21.0)


@pytest.mark.parametrize('op,value,signed', [
    ('Brightness', 1.36, False), ('Sharpness', 1.36, False),
    ('ShearX', 0.21, True), ('ShearY', 0.21, True),
    ('TranslateX', 7.0, True), ('TranslateY', 7.0, True),
    ('Rotate', 21.0, True), ('Identity', 0.0, False),
])
def test_each_op_has_one_fixed_magnitude(op, value, signed):
    aug = RandomAugment(ops=[op], prob=1.0)
    values = [v for d in draws(aug, 400) for _, v in d]
    expected = {value, -value} if signed else {value}
    assert set(np.round(values, 9)) == set(np.round(list(expected), 9))


def test_identity_keeps_the_image():
    img = np.random.RandomState(0).randint(0, 256, (8, 8, 3), np.uint8)
    assert np.array_equal(RandomAugment().apply_op(img, 'Identity', 0), img)


def test_brightness_scales_by_exactly_1_36():
    aug = RandomAugment()
    img = np.array([[[100, 50, 200]]], np.uint8).repeat(4, 0).repeat(4, 1)
    out = aug.apply_op(img, 'Brightness', aug.parameter('Brightness'))
    # floor(100 * 1.36) = 136, floor(50 * 1.36) = 68, 272 -> clipped 255
    assert out[0, 0].tolist() == [136, 68, 255]


def test_sharpness_blends_interior_with_pil_kernel():
    aug = RandomAugment()
    img = np.full((5, 5, 3), 100, np.uint8)
    img[2, 2] = 130
    img[0, 0] = 10  # on the border: must stay
    out = aug.apply_op(img, 'Sharpness', 1.36)
    # blur at the centre = round((8 * 100 + 5 * 130) / 13) = 112,
    # out = 112 + 1.36 * (130 - 112) = 136.48 -> 136
    assert out[2, 2].tolist() == [136] * 3
    # a neighbour: blur = round((7*100 + 130 + 5*100) / 13) = 102,
    # out = 102 + 1.36 * (100 - 102) = 99.28 -> 99
    assert out[1, 2].tolist() == [99] * 3
    assert np.array_equal(out[0], img[0]) and np.array_equal(
        out[:, 0], img[:, 0])


def test_translate_never_exceeds_7_pixels_and_fills_grey():
    aug = RandomAugment(ops=['TranslateX', 'TranslateY'], prob=1.0,
                        num_ops=1, fill=0)
    img = np.zeros((64, 64, 3), np.uint8)
    img[30:34, 30:34] = 255
    shifts = set()
    np.random.seed(1)
    for _ in range(40):
        (op, v), = aug.sample_ops()
        out = aug.apply_op(img, op, v)
        cx, cy = spot_centroid(out)
        dx, dy = cx - 31.5, cy - 31.5
        shifts.add((round(dx, 6), round(dy, 6)))
    assert shifts == {(7, 0), (-7, 0), (0, 7), (0, -7)}
    # the uncovered band is filled with grey 128 by default
    out = RandomAugment().apply_op(img, 'TranslateX', 7.0)
    assert (out[:, :7] == 128).all() and (out[:, 7:30] == 0).all()


def test_shear_moves_a_pixel_by_0_21_per_row():
    aug = RandomAugment(fill=0)
    img = np.zeros((64, 64, 3), np.uint8)
    img[40, 10] = 255
    out = aug.apply_op(img, 'ShearX', 0.21)
    cx, cy = spot_centroid(out)
    assert cx == pytest.approx(10 + 0.21 * 40, abs=0.05)
    assert cy == pytest.approx(40, abs=0.05)
    out = aug.apply_op(img, 'ShearY', -0.21)
    cx, cy = spot_centroid(out)
    assert cy == pytest.approx(40 - 0.21 * 10, abs=0.05)


def test_rotate_turns_by_21_degrees_about_the_centre():
    aug = RandomAugment(fill=0)
    img = np.zeros((64, 64, 3), np.uint8)
    img[31:34, 51:54] = 255  # centred at (52, 32): 20 px right of (32, 32)
    for angle in (21.0, -21.0):
        cx, cy = spot_centroid(aug.apply_op(img, 'Rotate', angle))
        theta = np.degrees(np.arctan2(-(cy - 32), cx - 32))
        assert abs(theta) == pytest.approx(21.0, abs=0.6)
        assert np.hypot(cx - 32, cy - 32) == pytest.approx(20.0, abs=0.3)
    # corners are filled with grey
    out = RandomAugment().apply_op(np.zeros((64, 64, 3), np.uint8), 'Rotate',
                                   21.0)
    assert out[0, 0].tolist() == [128, 128, 128]


def test_autocontrast_and_equalize_match_pil():
    rng = np.random.RandomState(3)
    img = rng.randint(40, 180, (32, 24, 3)).astype(np.uint8)
    aug = RandomAugment()
    pil = Image.fromarray(img)
    assert np.array_equal(aug.apply_op(img, 'AutoContrast', 0),
                          np.asarray(ImageOps.autocontrast(pil)))
    assert np.array_equal(aug.apply_op(img, 'Equalize', 0),
                          np.asarray(ImageOps.equalize(pil)))


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match='unknown ops'):
        RandomAugment(ops=['Solarise'])
    with pytest.raises(ValueError, match='magnitude'):
        RandomAugment(magnitude=11)
    with pytest.raises(TypeError, match='uint8'):
        RandomAugment().apply_op(np.zeros((4, 4, 3), np.float32),
                                 'Identity', 0)


def test_pir_pipeline_uses_the_released_augmentation():
    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/pipelines/pir_rs.py'))
    steps = [t for t in cfg.pir_train_pipeline
             if 'Aug' in t['type']]
    assert len(steps) == 1, steps
    aug = TRANSFORMS.build(steps[0])
    assert isinstance(aug, RandomAugment)
    assert set(aug.ops) == RELEASED_OPS
    assert aug.num_ops == 2 and aug.prob == 0.5
    assert aug.parameter('TranslateX') == pytest.approx(7.0)
    assert aug.parameter('Brightness') == pytest.approx(1.36)
    # the whole transform keeps the image shape and dtype
    np.random.seed(0)
    out = aug(dict(img=np.full((224, 224, 3), 90, np.uint8)))
    assert out['img'].shape == (224, 224, 3) and out['img'].dtype == np.uint8


def test_autocontrast_released_wraps_channels_with_a_nonzero_minimum():
    # hand-computed: channel 0 = [10, 20, 30] (min 10 > 0), channel 1 =
    # [0, 20, 40] (min 0), channel 2 constant 7
    img = np.array([[[10, 0, 7], [20, 20, 7], [30, 40, 7]]], np.uint8)
    stretch = RandomAugment().apply_op(img, 'AutoContrast', 0)
    # 255 (v - min) / (max - min): [0, 127.5, 255] -> [0, 127, 255]
    assert stretch[0, :, 0].tolist() == [0, 127, 255]
    assert stretch[0, :, 1].tolist() == [0, 127, 255]
    assert stretch[0, :, 2].tolist() == [7, 7, 7]
    released = RandomAugment(autocontrast='released').apply_op(
        img, 'AutoContrast', 0)
    # -uint8(10) = 246: offset 246 * 12.75 -> every value clipped to 255
    assert released[0, :, 0].tolist() == [255, 255, 255]
    assert released[0, :, 1].tolist() == [0, 127, 255]  # min 0: unchanged
    assert released[0, :, 2].tolist() == [7, 7, 7]
    with pytest.raises(ValueError, match='autocontrast'):
        RandomAugment(autocontrast='negate')


RSICD_IMAGES = (REPO / '..' / 'shared' / 'data' / 'rs_annotations' /
                'images').resolve()


@pytest.mark.parametrize('name', ['airport_17.jpg', 'sparseresidential_3.jpg',
                                  'sparseresidential_268.jpg'])
def test_autocontrast_switch_on_real_rsicd_images(name):
    import cv2
    path = RSICD_IMAGES / name
    if not path.exists():
        pytest.skip(f'real RSICD image not found at {path}')
    img = cv2.imread(str(path))
    lows = img.reshape(-1, 3).min(0)
    stretch = RandomAugment().apply_op(img, 'AutoContrast', 0)
    released = RandomAugment(autocontrast='released').apply_op(
        img, 'AutoContrast', 0)
    for c in range(3):
        # the stretch always spans 0..255 and keeps the pixel order
        assert stretch[..., c].min() == 0 and stretch[..., c].max() >= 254
        if lows[c] > 0:  # the release turns the whole channel white
            assert (released[..., c] == 255).all(), (name, c)
            assert (stretch[..., c] < 255).mean() > 0.5
        else:  # a channel with a zero minimum is stretched the same way
            assert np.array_equal(released[..., c], stretch[..., c])
    white = (released == 255).all(-1).mean()
    # airport_17: all three minima > 0, every pixel white; the others have
    # at least one zero-minimum channel, so not every pixel is white
    assert (white == 1.0) == bool((lows > 0).all()), (name, white)
