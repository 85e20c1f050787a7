"""Read scene-classifier checkpoints for PIR's instruction encoder.

Accepted layouts (all reduced to keys of the classifier *trunk*, e.g.
``conv1.weight``, ``layer1.0.conv1.weight``):

* torchvision-style classifiers (the AID / RESISC45 ResNet-50 of RSP used by
  PIR-ITR, docs/methods/pir.md#2-encoders): ``{'model'|'state_dict': sd}``
  / a bare ``sd``, optional ``module.`` prefix, classifier ``fc.*``;
* mmpretrain ``ImageClassifier`` checkpoints written by ``tools/train.py``
  (``state_dict`` with ``backbone.*``, ``neck.*``, ``head.*``);
* the output of ``tools/model_converters/scene_classifier_to_sdtr.py`` and
  sdtr retriever checkpoints (``instruction_encoder.backbone.*``).

Classifier keys (``fc.*``, ``head.*``, ``classifier.*``, ``heads.*``) are
split off and reported, never silently lost.
"""
import re
from typing import Dict, List, Tuple

import torch

from .clip_checkpoint import load_clip_state_dict

CLASSIFIER_PATTERNS = (r'^fc\.', r'^head\.', r'^heads\.', r'^classifier\.')


def read_scene_classifier(checkpoint) -> Tuple[Dict[str, torch.Tensor],
                                                Dict[str, torch.Tensor],
                                                str]:
    """Return ``(trunk_state_dict, classifier_state_dict, layout)``.

    ``layout`` is ``'sdtr'``, ``'mmpretrain'`` or ``'torchvision'``.
    """
    sd = load_clip_state_dict(checkpoint)
    layout = 'torchvision'
    for prefix, name in (('instruction_encoder.backbone.', 'sdtr'),
                         ('backbone.', 'mmpretrain')):
        if any(k.startswith(prefix) for k in sd):
            layout = name
            head_prefix = 'instruction_encoder.' if name == 'sdtr' else ''
            out = {}
            for k, v in sd.items():
                if k.startswith(prefix):
                    out[k[len(prefix):]] = v
                elif name == 'mmpretrain' and k.startswith('head.'):
                    out[k] = v
                elif name == 'sdtr' and k.startswith(head_prefix):
                    continue
            sd = out
            break
    trunk, classifier = {}, {}
    for k, v in sd.items():
        if k.startswith('data_preprocessor.'):
            continue
        if any(re.search(p, k) for p in CLASSIFIER_PATTERNS):
            classifier[k] = v
        else:
            trunk[k] = v
    return trunk, classifier, layout


def classifier_num_classes(classifier: Dict[str, torch.Tensor]) -> List[int]:
    """Output sizes of the 2-D classifier weights (for reports)."""
    return [int(v.shape[0]) for k, v in classifier.items()
            if k.endswith('weight') and v.dim() == 2]
