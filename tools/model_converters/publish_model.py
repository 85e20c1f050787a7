"""Strip training state from a checkpoint and name it for publication.

Keeps only the model weights (``state_dict``) and a small ``meta`` (config
text, dataset meta, epoch/iter, versions); drops ``optimizer``,
``param_schedulers``, ``message_hub`` and ``hook_msgs``.  The result loads
with ``torch.load(..., weights_only=True)`` and no allow-list, carries sdtr's
seal (the digest of its records, checked by every sdtr load), and is written
as ``<name>_<YYYYMMDD>-<sha256[:8]>.pth`` (the torch.hub / model-zoo
convention).  The **full** SHA-256 is printed, written next to the file as
``<file>.sha256`` (``sha256sum`` format, ``sha256sum -c`` checks it) and
printed as the two metafile lines to paste into the model's entry::

    Weights: <URL folder>/<file name>
    Weights SHA256: <64 hex digits>

``sdtr.apis.get_model(name, pretrained=True)`` verifies every download
against that recorded digest and refuses an entry without one.

Example::

    python tools/model_converters/publish_model.py \\
        work_dirs/clip_tiny/epoch_12.pth work_dirs/clip_tiny_synthetic-rs.pth \\
        --url-prefix https://host/sdtr/v0/
    # -> work_dirs/clip_tiny_synthetic-rs_20250101-1a2b3c4d.pth (+ .sha256)
"""
import argparse
import datetime
import hashlib
import os
import os.path as osp
import sys

import torch

KEEP_META = ('cfg', 'config', 'dataset_meta', 'epoch', 'iter', 'seed',
             'experiment_name', 'mmengine_version', 'sdtr_version',
             'converted_from', 'time')


def _plain(value):
    """Meta values that ``weights_only=True`` can read (else ``str``)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def strip_checkpoint(checkpoint: dict) -> dict:
    """``{'state_dict': ..., 'meta': ...}`` without training state."""
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        state_dict = checkpoint['state_dict']
        meta = checkpoint.get('meta') or {}
    else:
        state_dict, meta = checkpoint, {}
    if not isinstance(state_dict, dict) or not state_dict or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError('the checkpoint holds no state dict of tensors '
                         '(expected {"state_dict": {name: tensor}})')
    state_dict = {(k[7:] if k.startswith('module.') else k):
                  v.detach().cpu().contiguous()
                  for k, v in state_dict.items()}
    meta = {k: _plain(v) for k, v in meta.items() if k in KEEP_META}
    import sdtr
    meta['sdtr_version'] = sdtr.__version__
    return dict(state_dict=state_dict, meta=meta)


def publish(in_file: str, out_file: str, date: str = None,
            url_prefix: str = None) -> str:
    from sdtr.checkpoint import load_checkpoint, save_checkpoint
    checkpoint = load_checkpoint(in_file)
    dropped = sorted(set(checkpoint) - {'state_dict', 'meta'}) if \
        'state_dict' in checkpoint else []
    published = strip_checkpoint(checkpoint)
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    date = date or datetime.date.today().strftime('%Y%m%d')
    if len(date) != 8 or not date.isdigit():
        raise ValueError(f'--date must be YYYYMMDD, got {date!r}')
    os.makedirs(osp.dirname(osp.abspath(stem)), exist_ok=True)
    tmp = f'{stem}.tmp-{os.getpid()}.pth'
    save_checkpoint(published, tmp)  # sealed: every load checks its digest
    digest = hashlib.sha256()
    with open(tmp, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    sha256 = digest.hexdigest()
    final = f'{stem}_{date}-{sha256[:8]}.pth'
    os.replace(tmp, final)
    with open(f'{final}.sha256', 'w') as f:
        f.write(f'{sha256}  {osp.basename(final)}\n')
    print(f'dropped {dropped or "nothing"}; kept '
          f'{len(published["state_dict"])} tensors and meta '
          f'{sorted(published["meta"])}')
    print(f'sha256 {sha256}')
    print(f'published {final} (digest in {final}.sha256)')
    url = (url_prefix.rstrip('/') + '/' if url_prefix else '<URL folder>/') \
        + osp.basename(final)
    print('metafile entry lines:')
    print(f'    Weights: {url}')
    print(f'    Weights SHA256: {sha256}')
    return final


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Strip training state and add date + sha256 to the name')
    parser.add_argument('in_file', help='checkpoint written by training')
    parser.add_argument('out_file', help='output stem, e.g. dir/name.pth')
    parser.add_argument('--date', help='YYYYMMDD (default: today)')
    parser.add_argument('--url-prefix',
                        help='the URL folder the file will be served from '
                        '(used in the printed metafile lines)')
    args = parser.parse_args(argv)
    publish(args.in_file, args.out_file, args.date, args.url_prefix)
    return 0


if __name__ == '__main__':
    sys.exit(main())
