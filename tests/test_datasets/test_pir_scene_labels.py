"""PIR scene labels from file names (docs/methods/pir.md#10-scene-labels):
prefix before the first "_", numeric RSICD names are singleton classes."""
import json

from sdtr.datasets import PIRCaptionDataset
from sdtr.datasets.utils import scene_name_from_filename


def test_filename_rules():
    assert scene_name_from_filename('airport_17.jpg') == 'airport'
    assert scene_name_from_filename('train/bridge_942.tif') == 'bridge'
    assert scene_name_from_filename('test/denseresidential_1_2.tif') == \
        'denseresidential'
    # numeric RSICD names: every file is its own class, named by the file
    assert scene_name_from_filename('00578.jpg') == '00578.jpg'
    assert scene_name_from_filename('RSICD_images/00579.jpg') == '00579.jpg'
    assert scene_name_from_filename('airport_1.jpg', rule=None) is None


def test_dataset_labels_numeric_singletons(tmp_path):
    import cv2
    import numpy as np
    names = ['airport_1.jpg', 'airport_2.jpg', '00578.jpg', '00579.jpg',
             'beach_3.jpg']
    (tmp_path / 'img').mkdir()
    for n in names:
        cv2.imwrite(str(tmp_path / 'img' / n),
                    np.zeros((8, 8, 3), np.uint8))
    ann = [dict(image=n, caption=f'caption {i} of {n}')
           for n in names for i in range(2)]
    (tmp_path / 'train.json').write_text(json.dumps(ann))
    ds = PIRCaptionDataset(ann_file=str(tmp_path / 'train.json'),
                           data_prefix=dict(img_path=str(tmp_path / 'img')),
                           split='train', pipeline=[])
    labels = {}
    for i in range(len(ds)):
        item = ds.get_data_info(i)
        labels.setdefault(item['img_path'].split('/')[-1], set()).add(
            item['label'])
    assert all(len(v) == 1 for v in labels.values())
    lab = {k: v.pop() for k, v in labels.items()}
    assert lab['airport_1.jpg'] == lab['airport_2.jpg']
    assert len({lab['00578.jpg'], lab['00579.jpg'], lab['airport_1.jpg'],
                lab['beach_3.jpg']}) == 4
    assert min(lab.values()) >= 0
