"""Every example in the tools' ``--help`` texts works: each ``key=value``
that a help text gives as an example of ``--cfg-options`` is applied to the
quickstart config through the tools' own config path and the part it sets
is built (``model.*``: the model; a loader: its dataset)."""
import importlib.util
import re
from pathlib import Path

import pytest
from mmengine.config import DictAction

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'
TOOLS = sorted(p.relative_to(REPO).as_posix()
               for p in list((REPO / 'tools').glob('*.py')) +
               list((REPO / 'tools').glob('*/*.py')))
#: ``--cfg-options`` examples: ``a.b=c`` words after "e.g." in a help text
EXAMPLE = re.compile(r'\b([a-z_]+(?:\.[a-z_0-9]+)+=\S+?)(?=[\s)]|$)')


def _module(path):
    spec = importlib.util.spec_from_file_location(
        'tool_' + Path(path).stem, REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _help(path) -> str:
    """The ``--help`` text of a tool (its ``parse_args``), on one line."""
    import contextlib
    import inspect
    import io
    import sys
    module = _module(path)
    out = io.StringIO()
    argv = sys.argv
    try:
        sys.argv = [path, '--help']
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            if inspect.signature(module.parse_args).parameters:
                module.parse_args(['--help'])
            else:
                module.parse_args()
    finally:
        sys.argv = argv
    return ' '.join(out.getvalue().split())


def _examples(path) -> list:
    found = []
    for part in _help(path).split('e.g.')[1:]:
        found += EXAMPLE.findall(part.split(')')[0])
    return found


def _collect():
    return [(path, ex) for path in TOOLS
            if 'def parse_args(' in (REPO / path).read_text()
            for ex in _examples(path)]


def test_the_train_help_gives_examples():
    """The extraction finds the examples (so the test below checks
    something): tools/train.py shows two."""
    assert _examples('tools/train.py') == [
        'train_dataloader.batch_size=8',
        'model.logit_scale.init_temperature=0.02']


@pytest.mark.parametrize('tool,example', _collect())
def test_help_example_works(tool, example, tmp_path):
    from mmengine.runner import Runner

    from sdtr.registry import MODELS
    from sdtr.utils import load_config, register_all_modules
    register_all_modules()
    import argparse
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='o')(None, namespace, [example])
    options = namespace.o
    # the tool's parser accepts it
    tool_args = [QUICKSTART, '--cfg-options', example]
    if 'test.py' in tool:
        tool_args.insert(1, 'x.pth')
    _module(tool).parse_args(tool_args)
    # the config takes it (nothing refused) and the part it sets builds
    cfg = load_config(str(REPO / QUICKSTART), options)
    key = example.split('=', 1)[0]
    section = key.split('.', 1)[0]
    if section == 'model':
        model = MODELS.build(cfg.model)
        if key.startswith('model.logit_scale.'):
            value = float(example.split('=', 1)[1])
            assert model.get_logit_scale().item() == pytest.approx(
                1 / value, rel=1e-5)
    elif section.endswith('_dataloader'):
        loader = dict(cfg[section], num_workers=0, persistent_workers=False)
        built = Runner.build_dataloader(loader, seed=0)
        if key.endswith('.batch_size'):
            assert built.batch_size == int(example.split('=', 1)[1])
