"""SceneFolderDataset: folder-of-classes layout, labels, prompts, errors."""
import pytest

from sdtr.datasets import BadSampleError, SceneFolderDataset
from sdtr.datasets import make_synthetic_scene_folders
from sdtr.datasets.scene_folder_dataset import readable_class_name


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    return make_synthetic_scene_folders(
        out_dir=str(tmp_path_factory.mktemp('scenes') / 's'),
        train_per_class=1, test_per_class=2, img_size=32, num_scenes=4)


def test_labels_follow_classes_txt_and_prompts(scenes):
    ds = SceneFolderDataset(scenes, split='test', templates='single')
    classes = open(f'{scenes}/classes.txt').read().split()
    assert list(ds.metainfo['classes']) == classes
    assert len(ds) == 8
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert f'/{classes[info["gt_label"]]}/' in info['img_path']
    assert ds.class_prompts()[0] == [f'a satellite photo of {classes[0]}.']
    custom = SceneFolderDataset(scenes, split='train',
                                classes=classes[::-1][:2],
                                class_names={classes[-1]: 'my scene'},
                                templates=['{} seen from above'])
    assert len(custom) == 2
    assert custom.class_prompts()[0] == ['my scene seen from above']
    assert len(SceneFolderDataset(scenes, templates='rs').class_prompts()[1]
               ) == 8


def test_readable_names_and_errors(scenes, tmp_path):
    assert readable_class_name('DenseResidential') == 'dense residential'
    assert readable_class_name('baseball_diamond') == 'baseball diamond'
    assert readable_class_name('River') == 'river'
    with pytest.raises(ValueError, match='placeholder'):
        SceneFolderDataset(scenes, templates=['no placeholder'])
    with pytest.raises(KeyError, match='template set'):
        SceneFolderDataset(scenes, templates='unknown')
    with pytest.raises(BadSampleError, match='split folder'):
        SceneFolderDataset(scenes, split='val')
    with pytest.raises(BadSampleError, match="class 'nope' has no folder"):
        SceneFolderDataset(scenes, classes=['nope'])
    (tmp_path / 'test' / 'empty').mkdir(parents=True)
    with pytest.raises(BadSampleError, match='no image'):
        SceneFolderDataset(str(tmp_path))
