"""Scene-classifier checkpoints -> the trunk of PIR's instruction encoder.

:func:`convert_scene_classifier` is the key converter of
:class:`~sdtr.models.backbones.SceneInstructionEncoder`.  Accepted layouts
(all reduced to keys of the classifier *trunk*, e.g. ``conv1.weight``,
``layer1.0.conv1.weight``), recorded as the report's ``layout``:

* ``torchvision``: torchvision-style classifiers (the AID / RESISC45
  ResNet-50 of RSP used by PIR-ITR, docs/methods/pir.md#2-encoders),
  classifier ``fc.*``;
* ``mmpretrain``: ``ImageClassifier`` checkpoints written by
  ``tools/train.py`` (``backbone.*``, ``neck.*``, ``head.*``);
* ``sdtr``: the output of ``tools/model_converters/scene_classifier_to_sdtr.py``
  and sdtr retriever checkpoints (``instruction_encoder.backbone.*``).

Classifier keys (``fc.*``, ``head.*``, ``classifier.*``, ``heads.*``) and
the data preprocessor's buffers are dropped and reported, never silently
lost.
"""
import re
from typing import Dict, List

import torch

from sdtr.checkpoint import LoadReport, select_prefix

CLASSIFIER_PATTERNS = (r'^fc\.', r'^head\.', r'^heads\.', r'^classifier\.')
LAYOUT_PREFIXES = (('instruction_encoder.backbone.', 'sdtr'),
                   ('backbone.', 'mmpretrain'))


def classifier_num_classes(classifier: Dict[str, torch.Tensor]) -> List[int]:
    """Output sizes of the 2-D classifier weights (for reports)."""
    return [int(v.shape[0]) for k, v in classifier.items()
            if k.endswith('weight') and v.dim() == 2]


def convert_scene_classifier(state_dict: Dict[str, torch.Tensor],
                             report: LoadReport) -> Dict[str, torch.Tensor]:
    """The trunk of a scene classifier (see the module doc)."""
    report.layout = 'torchvision'
    for prefix, layout in LAYOUT_PREFIXES:
        if any(k.startswith(prefix) for k in state_dict):
            report.layout = layout
            # an mmpretrain classifier's head sits next to its backbone
            heads = {k: v for k, v in state_dict.items()
                     if layout == 'mmpretrain' and k.startswith('head.')}
            state_dict = dict(select_prefix(
                {k: v for k, v in state_dict.items() if k not in heads},
                prefix, report), **heads)
            break
    trunk, classifier, preprocessor = {}, {}, []
    for key, value in state_dict.items():
        if key.startswith('data_preprocessor.'):
            preprocessor.append(key)
        elif any(re.search(p, key) for p in CLASSIFIER_PATTERNS):
            classifier[key] = value
        else:
            trunk[key] = value
    report.drop(preprocessor, 'data preprocessor buffers')
    report.drop(classifier, f'{report.layout} classifier with '
                f'{classifier_num_classes(classifier)} classes')
    return trunk
