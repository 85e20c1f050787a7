"""The quickstart numbers in the READMEs are the recorded ones
(configs/quickstart/results.json, written by tools/misc/quickstart_numbers.py
from real runs) and the model they describe is the configs' model."""
import copy
import json

from test_apis.helpers import load_tool


def _module():
    return load_tool('tools/misc/quickstart_numbers.py')


def test_readmes_show_the_recorded_numbers():
    qn = _module()
    results = json.loads(qn.RESULTS.read_text())
    assert qn.check(results) == []
    # every block is present in both READMEs
    for path in qn.READMES:
        assert qn.MARK.findall(path.read_text()), path


def test_check_catches_a_stale_number_and_a_wrong_model():
    qn = _module()
    results = json.loads(qn.RESULTS.read_text())
    stale = copy.deepcopy(results)
    stale['runs']['rs']['test']['mR'] += 1.0
    assert any("'rs'" in p for p in qn.check(stale))
    assert any("'summary'" in p for p in qn.check(stale))
    assert any('metafile.yml' in p for p in qn.check(stale))
    # the model description is read from the config, not from the README
    facts = qn.model_description()['rs']
    block = qn.render(results)['model']
    assert (f'image ViT {facts["img_layers"]} layers of width '
            f'{facts["img_width"]}') in block
    assert f'seed {facts["seed"]}' in block
    assert qn.compare(results, stale) == [
        f"rs.test: recorded {results['runs']['rs']['test']} vs now "
        f"{stale['runs']['rs']['test']}"]
    assert qn.compare(results, copy.deepcopy(results)) == []


def test_recorded_runs_select_the_best_epoch_on_val():
    qn = _module()
    results = json.loads(qn.RESULTS.read_text())
    for name, run in results['runs'].items():
        key = 'mR' if name == 'rs' else 'R@1'
        val = {int(e): m[key] for e, m in run['val'].items()}
        # mmengine keeps the first epoch reaching the best value
        best = max(val.values())
        assert run['best_epoch'] == min(e for e, v in val.items()
                                        if v == best)
