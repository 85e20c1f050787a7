"""The quickstart numbers in the READMEs are the recorded ones
(configs/quickstart/results.json, written by tools/misc/quickstart_numbers.py
from real runs), the model they describe is the configs' model, and the
recorded runs are tied to the code by a fingerprint that is recomputed here
(the losses of a short run and its val metrics)."""
import copy
import json

from mmengine.config import Config
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


def test_recorded_fingerprints_are_reproduced(tmp_path):
    """The fast check of the recorded runs (about a minute on 2 idle
    cores): each quickstart config trained one short epoch on a subset
    gives the recorded losses and val metrics.  Any change to what
    training computes fails here, with the command that re-derives the
    numbers."""
    qn = _module()
    results = json.loads(qn.RESULTS.read_text())
    problems = qn.check_fingerprints(results, tmp_path)
    assert problems == [], '\n'.join(problems)


def test_a_change_of_training_changes_the_fingerprint(tmp_path):
    """Twice the learning rate: the first loss (before any update) stays,
    the later ones and the metrics move, and the check reports it."""
    qn = _module()
    recorded = json.loads(qn.RESULTS.read_text())['runs']['rs']['fingerprint']
    lr = Config.fromfile(str(qn.REPO / qn.RUNS['rs']['config'])
                         ).optim_wrapper.optimizer.lr
    changed = qn.fingerprint_one(
        'rs', tmp_path, cfg_options=[f'optim_wrapper.optimizer.lr={2 * lr}'])
    assert changed['losses'][0] == recorded['losses'][0]
    diffs = qn.compare_fingerprints(recorded, changed)
    assert any(d.startswith('loss of iteration 2:') for d in diffs), diffs
    assert qn.compare_fingerprints(recorded, copy.deepcopy(recorded)) == []


def test_the_check_names_the_command_that_re_derives(monkeypatch, tmp_path):
    qn = _module()
    results = json.loads(qn.RESULTS.read_text())

    def other_seed(name, root, settings=None, cfg_options=()):
        fp = copy.deepcopy(results['runs'][name]['fingerprint'])
        fp['losses'][0] *= 1.01  # what another initialisation does
        return fp
    monkeypatch.setattr(qn, 'fingerprint_one', other_seed)
    problems = qn.check_fingerprints(results, tmp_path)
    assert problems[0].startswith('rs: loss of iteration 1: recorded')
    assert problems[-1].endswith(
        '`python tools/misc/quickstart_numbers.py --run --write`')
    # a rounding-level difference (another CPU) is not a change
    fp = results['runs']['rs']['fingerprint']
    near = dict(fp, losses=[x * (1 + 1e-6) for x in fp['losses']])
    assert qn.compare_fingerprints(fp, near) == []
