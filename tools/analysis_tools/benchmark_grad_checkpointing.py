"""Memory saved by gradient checkpointing (``with_cp=True``) of a tower.

Example::

    python tools/analysis_tools/benchmark_grad_checkpointing.py \\
        --tower clip-vit-b16 --batch-size 4 [--device cuda]

Runs one training forward + backward of the tower (random weights, random
inputs) with and without ``with_cp``, each in a fresh process, and prints
ONE JSON line with the peak memory of each and the saving.  On a GPU the
peak is ``torch.cuda.max_memory_allocated``; on the CPU it is the peak
resident memory of the process during the pass minus the resident memory
just before it (Linux ``VmHWM`` after a ``/proc/self/clear_refs`` reset),
i.e. activations, gradients and temporary buffers.

Towers (paper sizes): ``clip-vit-b16`` (224 px), ``clip-vit-b16-person``
(384x128), ``clip-text-b`` (77 tokens), ``swin-t`` (224 px), ``bert-base``
(64 tokens).
"""
import argparse
import json
import os.path as osp
import platform
import subprocess
import sys
import time

import torch

TOWERS = {
    'clip-vit-b16': (dict(type='CLIPVisionTransformer', arch='ViT-B-16',
                          act='quick_gelu'), ('image', 224, 224)),
    'clip-vit-b16-person': (dict(type='CLIPVisionTransformer',
                                 arch='ViT-B-16', image_size=(384, 128),
                                 act='quick_gelu'), ('image', 384, 128)),
    'clip-text-b': (dict(type='CLIPTextTransformer', arch='ViT-B-16',
                         act='quick_gelu'), ('ids', 77, 49407)),
    'swin-t': (dict(type='SwinTransformerEncoder', arch='tiny'),
               ('image', 224, 224)),
    'bert-base': (dict(type='BertTextEncoder', config=dict(
        vocab_size=30522, hidden_size=768, num_hidden_layers=12,
        num_attention_heads=12, intermediate_size=3072,
        max_position_embeddings=512)), ('ids', 64, 30521)),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--tower', choices=sorted(TOWERS), default='clip-vit-b16')
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int)
    p.add_argument('--child', choices=['on', 'off'], help=argparse.SUPPRESS)
    return p.parse_args(argv)


def child(args):
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_metrics import _status_kib

    from sdtr.registry import MODELS
    from sdtr.utils import register_all_modules
    register_all_modules()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg, (kind, a, b) = TOWERS[args.tower]
    torch.manual_seed(0)
    tower = MODELS.build(dict(cfg, with_cp=args.child == 'on'))
    tower.to(device).train()
    B = args.batch_size
    if kind == 'image':
        inputs = (torch.randn(B, 3, a, b, device=device), )
    else:
        ids = torch.randint(1, b, (B, a), device=device)
        inputs = (ids, torch.ones_like(ids))
    if device.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        base = _status_kib('VmRSS') * 1024
    t0 = time.perf_counter()
    out = tower(*inputs)
    out = out['tokens'] if isinstance(out, dict) else out
    out.float().square().mean().backward()
    if device.type == 'cuda':
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _status_kib('VmHWM') * 1024 - base
    print(json.dumps(dict(peak_mib=round(peak / 2**20, 1),
                          seconds=round(time.perf_counter() - t0, 2))))


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return child(args)
    runs = {}
    for mode in ('off', 'on'):
        cmd = [sys.executable, osp.abspath(__file__), '--tower', args.tower,
               '--batch-size', str(args.batch_size), '--device',
               args.device, '--child', mode]
        if args.threads:
            cmd += ['--threads', str(args.threads)]
        out = subprocess.run(cmd, check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
        runs[mode] = json.loads(out)
    result = dict(
        tower=args.tower, batch_size=args.batch_size, device=args.device,
        device_name=(torch.cuda.get_device_name()
                     if args.device.startswith('cuda') else
                     platform.machine()),
        torch=torch.__version__,
        method=('cuda max_memory_allocated' if args.device.startswith('cuda')
                else 'VmHWM after clear_refs - VmRSS before'),
        peak_mib_without_cp=runs['off']['peak_mib'],
        peak_mib_with_cp=runs['on']['peak_mib'],
        saved_mib=round(runs['off']['peak_mib'] - runs['on']['peak_mib'], 1),
        saved_frac=round(1 - runs['on']['peak_mib'] /
                         max(runs['off']['peak_mib'], 1e-9), 3),
        seconds_without_cp=runs['off']['seconds'],
        seconds_with_cp=runs['on']['seconds'])
    print(json.dumps(result))
    return result


if __name__ == '__main__':
    main()
