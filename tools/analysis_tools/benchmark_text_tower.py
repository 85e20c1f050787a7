"""Time sdtr's CLIP text tower against open_clip's on the same tokens.

Example::

    python tools/analysis_tools/benchmark_text_tower.py --width 512 \\
        --layers 12 --heads 8 --batch-size 32 --device cpu

Builds :class:`~sdtr.models.backbones.CLIPTextTransformer` and open_clip's
``TextTransformer`` with the same dimensions, copies the weights (the
parameter names are the same), feeds both the same random token ids (an
EOT token at a random position, zero padding after it, as the CLIP tokenizer
gives) and times the forward pass without gradients, alternating the two
``--repeat`` times.  Prints ONE JSON line: ``sdtr_ms``/``open_clip_ms``
(median per forward), ``ratio`` (sdtr / open_clip) and ``max_abs_diff`` of
the pooled (EOT) features.
"""
import argparse
import json
import platform
import statistics
import time

import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--width', type=int, default=512)
    p.add_argument('--layers', type=int, default=12)
    p.add_argument('--heads', type=int, default=8)
    p.add_argument('--context-length', type=int, default=77)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--repeat', type=int, default=10)
    p.add_argument('--device', default=None)
    p.add_argument('--dtype', default='float32',
                   choices=['float32', 'bfloat16', 'float16'])
    p.add_argument('--threads', type=int)
    p.add_argument('--sdpa-on-cpu', action='store_true',
                   help='run sdtr\'s causal-SDPA blocks on the CPU too (by '
                   'default only on GPUs, see clip_text_transformer.py)')
    return p.parse_args(argv)


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def main(argv=None):
    args = parse_args(argv)
    from open_clip.model import QuickGELU
    from open_clip.transformer import TextTransformer

    from sdtr.models.backbones import CLIPTextTransformer
    from sdtr.models.backbones import clip_text_transformer
    if args.sdpa_on_cpu:
        clip_text_transformer.CAUSAL_SDPA_DEVICES += ('cpu', )
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    dims = dict(context_length=args.context_length, vocab_size=49408,
                width=args.width, heads=args.heads, layers=args.layers,
                embed_dim=args.width)
    torch.manual_seed(0)
    ours = CLIPTextTransformer(arch=None, act='quick_gelu', **dims)
    ref = TextTransformer(
        context_length=dims['context_length'], vocab_size=49408,
        width=args.width, heads=args.heads, layers=args.layers,
        output_dim=args.width, act_layer=QuickGELU)
    ref.load_state_dict(ours.state_dict(), strict=True)
    dtype = getattr(torch, args.dtype)
    ours.to(device, dtype).eval()
    ref.to(device, dtype).eval()

    g = torch.Generator().manual_seed(0)
    B, L = args.batch_size, args.context_length
    ids = torch.randint(1, 49406, (B, L), generator=g)
    eot = torch.randint(5, L, (B, ), generator=g)
    ids[torch.arange(B), eot] = 49407
    ids[torch.arange(L)[None] > eot[:, None]] = 0
    ids = ids.to(device)

    times = dict(sdtr=[], open_clip=[])
    with torch.no_grad():
        a = ours(ids)['global']
        b = ref(ids)
        b = b[0] if isinstance(b, tuple) else b
        for _ in range(args.repeat):
            for name, fn in (('sdtr', lambda: ours(ids)),
                             ('open_clip', lambda: ref(ids))):
                sync(device)
                t0 = time.perf_counter()
                fn()
                sync(device)
                times[name].append(time.perf_counter() - t0)
    sdtr_ms = 1000 * statistics.median(times['sdtr'])
    ref_ms = 1000 * statistics.median(times['open_clip'])
    result = dict(
        device=device.type,
        device_name=(torch.cuda.get_device_name(device)
                     if device.type == 'cuda' else platform.machine()),
        threads=torch.get_num_threads(), torch=torch.__version__,
        dtype=args.dtype, batch_size=B,
        sdtr_path='causal sdpa' if ours._causal_sdpa and device.type in
        clip_text_transformer.CAUSAL_SDPA_DEVICES else 'open_clip blocks', context_length=L,
        width=args.width, layers=args.layers, heads=args.heads,
        sdtr_ms=round(sdtr_ms, 2), open_clip_ms=round(ref_ms, 2),
        ratio=round(sdtr_ms / ref_ms, 3),
        max_abs_diff=float((a.float() - b.float()).abs().max()))
    print(json.dumps(result))
    return result


if __name__ == '__main__':
    main()
