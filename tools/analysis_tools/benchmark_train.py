"""Time a config's training step against a plain PyTorch loop.

Example::

    # CPU, tiny config
    python tools/analysis_tools/benchmark_train.py \\
        configs/quickstart/clip_tiny_1xb32_synthetic-rs.py --iters 20
    # GPU, paper size, bf16, synthetic batch (no dataset needed)
    python tools/analysis_tools/benchmark_train.py \\
        configs/clip/clip_vit-b16_1xb128_rsitmd-galr.py --synthetic rs \\
        --batch-size 128 --amp --iters 50 --device cuda [--compile]

Both paths run in the same process on the same batch, one batch from the
config's train dataloader (or, with ``--synthetic rs|person``, from the
synthetic dataset passed through the config's own train pipeline): uint8
images and captions, as the dataloader delivers them.

* **sdtr**: the config's model (random weights, ``init_weights`` is not
  called, so no pretrained file is needed), its optimiser wrapper built by
  ``build_optim_wrapper`` from ``cfg.optim_wrapper`` (constructor,
  ``paramwise_cfg``, AMP), and ``model.train_step(batch, optim_wrapper)``:
  data preprocessor, tokenisation, losses, backward, step, as mmengine's
  ``IterBasedTrainLoop``/``EpochBasedTrainLoop`` call it.  ``--compile``
  compiles ``train_step`` the way the Runner does for ``compile=True``.
* **plain**: a deep copy of the same model (same towers, same initial
  weights) driven by a hand-written loop: host-to-device copy and
  normalisation, ``encode_image`` + ``encode_text`` on tokens prepared once
  outside the step (as dataloader workers would), a symmetric InfoNCE loss
  with the model's ``logit_scale`` (1/0.02 when it has none),
  ``torch.optim.Adam``/``AdamW`` (the config's type, lr and weight decay, one
  parameter group, PyTorch's default kernels), the same autocast dtype.
  ``--compile`` compiles its forward + loss function.

The two paths alternate iteration by iteration (robust to other processes on
a shared machine).  Prints ONE JSON line:

* ``sdtr_samples_per_s``, ``plain_samples_per_s``, ``ratio`` (sdtr / plain
  samples per second, as in issue tables: >= 1.0 means sdtr is as fast) and
  ``step_time_ratio`` (sdtr step time / plain step time: the CPU target is
  <= 1.10);
* ``breakdown_ms`` of both paths, from separate instrumented steps with a
  device synchronisation at each boundary: ``preprocessing`` (copy +
  normalisation), ``tokenisation`` (sdtr: what the step spends on the
  captions: stacking the token ids made in the data pipeline by its
  ``TokenizeCaption`` step, as training does, or tokenising them with
  ``--tokenize-in-step``; plain: the tokeniser call done outside the step,
  reported for reference), ``forward_backward`` (sdtr: includes that) and
  ``optimizer``
  (step + zero_grad);
* ``peak_memory_mib``: CUDA ``max_memory_allocated`` of each path's
  instrumented steps (null on CPU) and ``process_peak_rss_mib``;
* ``loss_first``/``loss_last`` and ``param_update_norm`` of each path (both
  must train: the update norm is the L2 norm of all parameter changes);
* the machine (``device_name``, ``threads``, torch version) and settings.
"""
import argparse
import copy
import json
import os.path as osp
import platform
import resource
import sys
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='sdtr training step vs a plain PyTorch loop')
    p.add_argument('config')
    p.add_argument('--batch-size', type=int,
                   help='default: the config\'s train batch size')
    p.add_argument('--iters', type=int, default=10,
                   help='timed iterations of each path')
    p.add_argument('--warmup', type=int, default=2,
                   help='untimed iterations of each path first (more with '
                   '--compile: the first calls compile)')
    p.add_argument('--amp', action='store_true',
                   help='AmpOptimWrapper (bf16 where supported) as '
                   'tools/train.py --amp; the plain loop autocasts the same')
    p.add_argument('--compile', action='store_true',
                   help='compile=True (the Runner compiles train_step); the '
                   'plain loop compiles its forward + loss')
    p.add_argument('--device', default=None,
                   help='cuda or cpu (default: cuda when available)')
    p.add_argument('--synthetic', choices=['rs', 'person'],
                   help='take the batch from the synthetic rs/person '
                   'dataset through the config\'s train pipeline (paper '
                   'configs without their dataset on disk)')
    p.add_argument('--threads', type=int,
                   help='torch.set_num_threads (CPU)')
    p.add_argument('--tokenize-in-step', action='store_true',
                   help='tokenise the captions inside the training step '
                   '(the TokenizeCaption step removed from the pipeline) '
                   'instead of in the data pipeline')
    p.add_argument('--plain-objective', choices=['infonce', 'method'],
                   default='infonce',
                   help='what the plain loop trains: symmetric InfoNCE on '
                   'the towers (default), or the retriever\'s own loss() '
                   'called directly (measures the framework overhead of a '
                   'method with extra passes, e.g. EKLSR, VFE-TPS)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def synthetic_dataset(kind: str, pipeline) -> dict:
    base = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                    'datasets', f'synthetic_{kind}.py')
    dataset = copy.deepcopy(Config.fromfile(base).train_dataloader.dataset)
    dataset['pipeline'] = pipeline
    return dataset


def one_batch(cfg, batch_size, synthetic, seed, in_pipeline=True):
    """One batch exactly as the config's train dataloader delivers it
    (captions tokenised by the pipeline's ``TokenizeCaption``, bound to the
    model's tokenizer, unless ``in_pipeline`` is False: then the step is
    removed and the model tokenises them in the step)."""
    from mmengine.runner import Runner

    from sdtr.utils import bind_model_tokenizer
    cfg = copy.deepcopy(cfg)
    if synthetic:
        cfg.train_dataloader['dataset'] = synthetic_dataset(
            synthetic, cfg.train_dataloader['dataset']['pipeline'])
        cfg.train_dataloader['sampler'] = dict(type='SeededSampler',
                                               shuffle=True)
        cfg.train_dataloader.pop('batch_sampler', None)
    pipeline = cfg.train_dataloader['dataset']['pipeline']
    if not in_pipeline:
        pipeline[:] = [t for t in pipeline
                       if t.get('type') != 'TokenizeCaption']
    bind_model_tokenizer(cfg)
    dl = cfg.train_dataloader
    dl['batch_size'] = batch_size
    dl['num_workers'] = 0
    dl['persistent_workers'] = False
    dl.pop('prefetch_factor', None)
    loader = Runner.build_dataloader(dl, seed=seed)
    return next(iter(loader))


def flat_params(model):
    return torch.cat([p.detach().float().flatten()
                      for p in model.parameters()]).clone()


class PlainLoop:
    """The hand-written loop over a copy of the same model."""

    def __init__(self, model, optimizer_cfg, cast_dtype, device, compile_,
                 objective='infonce', data_samples=None):
        self.model = model
        self.objective = objective
        self.data_samples = data_samples
        self.device = device
        pre = model.data_preprocessor
        self.mean = pre.mean.to(device).view(1, -1, 1, 1)
        self.std = pre.std.to(device).view(1, -1, 1, 1)
        self.flip = bool(getattr(pre, '_channel_conversion', False))
        name = optimizer_cfg['type']
        name = name if isinstance(name, str) else name.__name__
        opt_cls = torch.optim.AdamW if name == 'AdamW' else torch.optim.Adam
        self.optimizer = opt_cls(
            [p for p in model.parameters() if p.requires_grad],
            lr=optimizer_cfg.get('lr', 1e-3),
            weight_decay=optimizer_cfg.get('weight_decay', 0.0))
        self.cast_dtype = cast_dtype
        self.scaler = torch.amp.GradScaler(
            device.type, enabled=cast_dtype == torch.float16)
        self.forward_loss = torch.compile(self._forward_loss) \
            if compile_ else self._forward_loss

    def preprocess(self, images):
        x = images.to(self.device, non_blocking=True)
        if self.flip:
            x = x[:, [2, 1, 0]]
        return (x.float() - self.mean) / self.std

    def _forward_loss(self, x, input_ids, attention_mask):
        m = self.model
        if self.objective == 'method':
            # the retriever's own objective (its extra encoder passes and
            # losses included), called directly: what is left of the ratio
            # is framework overhead, not the method's own work
            losses = m.loss(x, self.data_samples)
            return sum(v for k, v in losses.items() if k.startswith('loss'))
        img = F.normalize(m.image_embedding(m.encode_image(x)), dim=-1)
        tokens = dict(input_ids=input_ids, attention_mask=attention_mask)
        txt = F.normalize(m.text_embedding(m.encode_text(tokens)), dim=-1)
        scale = m.logit_scale.exp() if isinstance(
            getattr(m, 'logit_scale', None), torch.Tensor) else 50.0
        logits = scale * img @ txt.t()
        target = torch.arange(logits.shape[0], device=logits.device)
        return (F.cross_entropy(logits.float(), target) +
                F.cross_entropy(logits.float().t(), target)) / 2

    def forward_backward(self, x, tokens):
        with torch.autocast(self.device.type, dtype=self.cast_dtype,
                            enabled=self.cast_dtype is not None):
            loss = self.forward_loss(x, tokens['input_ids'],
                                     tokens['attention_mask'])
        self.scaler.scale(loss).backward()
        return loss

    def optimizer_step(self):
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)

    def step(self, images, tokens):
        loss = self.forward_backward(self.preprocess(images), tokens)
        self.optimizer_step()
        return loss


def sdtr_instrumented_step(model, optim_wrapper, batch, device, times):
    """``train_step`` split at its boundaries (same calls, synchronised)."""
    sync(device)
    t0 = time.perf_counter()
    with optim_wrapper.optim_context(model):
        data = model.data_preprocessor(batch, True)
        sync(device)
        t1 = time.perf_counter()
        losses = model._run_forward(data, mode='loss')
        parsed, _ = model.parse_losses(losses)
    optim_wrapper.backward(parsed)
    sync(device)
    t2 = time.perf_counter()
    optim_wrapper.step()
    optim_wrapper.zero_grad()
    sync(device)
    t3 = time.perf_counter()
    # what the step spends on captions: stacking the worker-made token ids
    # (or tokenising the strings when the pipeline did not)
    text_inputs = model.get_text_inputs(data['data_samples'])
    if not isinstance(text_inputs, dict):
        model.tokenize(text_inputs)
    sync(device)
    t4 = time.perf_counter()
    for key, value in (('preprocessing', t1 - t0),
                       ('forward_backward', t2 - t1),
                       ('optimizer', t3 - t2), ('tokenisation', t4 - t3)):
        times.setdefault(key, []).append(value)


def plain_instrumented_step(plain, images, texts, tokenize, device, times):
    sync(device)
    t0 = time.perf_counter()
    tokens = tokenize(texts)
    sync(device)
    t1 = time.perf_counter()
    x = plain.preprocess(images)
    sync(device)
    t2 = time.perf_counter()
    plain.forward_backward(x, tokens)
    sync(device)
    t3 = time.perf_counter()
    plain.optimizer_step()
    sync(device)
    t4 = time.perf_counter()
    for key, value in (('tokenisation', t1 - t0), ('preprocessing', t2 - t1),
                       ('forward_backward', t3 - t2),
                       ('optimizer', t4 - t3)):
        times.setdefault(key, []).append(value)


def mean_ms(times):
    return {k: round(1000 * sum(v) / len(v), 2) for k, v in times.items()}


def main(argv=None):
    args = parse_args(argv)
    from mmengine.optim import build_optim_wrapper

    from sdtr.engine.optimizers import enable_amp
    from sdtr.registry import MODELS
    from sdtr.utils import register_all_modules
    from sdtr.utils.setup_env import merge_cfg_options
    register_all_modules(init_default_scope=True)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, dict(args.cfg_options or {}))
    if args.amp:
        enable_amp(cfg)
    if args.compile and not cfg.get('compile'):
        cfg.compile = True
    batch_size = args.batch_size or cfg.train_dataloader.batch_size

    torch.manual_seed(args.seed)
    model = MODELS.build(copy.deepcopy(cfg.model)).to(device)
    batch = one_batch(cfg, batch_size, args.synthetic, args.seed,
                      in_pipeline=not args.tokenize_in_step)
    model.train()
    plain_model = copy.deepcopy(model)
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(
        cfg.optim_wrapper))
    cast_dtype = getattr(optim_wrapper, 'cast_dtype', None)
    if cfg.get('compile'):
        compile_cfg = cfg.compile if isinstance(cfg.compile, dict) else {}
        model.train_step = torch.compile(model.train_step, **compile_cfg)

    images = batch['inputs']
    if isinstance(images, (list, tuple)):
        images = torch.stack(list(images))
    if device.type == 'cuda':
        images = images.pin_memory()
    texts = model.get_texts(batch['data_samples'])

    def tokenize(texts):
        return model.tokenize(texts)

    plain = PlainLoop(plain_model, cfg.optim_wrapper.optimizer, cast_dtype,
                      device, args.compile, args.plain_objective,
                      batch['data_samples'])
    plain_tokens = tokenize(texts)  # outside the step, once

    before = (flat_params(model), flat_params(plain_model))
    losses = dict(sdtr=[], plain=[])
    elapsed = dict(sdtr=0.0, plain=0.0)
    for it in range(args.warmup + args.iters):
        sync(device)
        t0 = time.perf_counter()
        log_vars = model.train_step(batch, optim_wrapper)
        sync(device)
        t1 = time.perf_counter()
        loss = plain.step(images, plain_tokens)
        sync(device)
        t2 = time.perf_counter()
        losses['sdtr'].append(float(log_vars['loss'].detach()))
        losses['plain'].append(float(loss.detach()))
        if it >= args.warmup:
            elapsed['sdtr'] += t1 - t0
            elapsed['plain'] += t2 - t1
    update = dict(sdtr=float((flat_params(model) - before[0]).norm()),
                  plain=float((flat_params(plain_model) - before[1]).norm()))

    # breakdown: separate instrumented steps (synchronised at boundaries)
    breakdown, peak = {}, {}
    for name in ('sdtr', 'plain'):
        times = {}
        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(device)
        for _ in range(max(args.iters // 2, 1)):
            if name == 'sdtr':
                sdtr_instrumented_step(model, optim_wrapper, batch, device,
                                       times)
            else:
                plain_instrumented_step(plain, images, texts, tokenize,
                                        device, times)
        breakdown[name] = mean_ms(times)
        peak[name] = round(torch.cuda.max_memory_allocated(device) / 2**20,
                           1) if device.type == 'cuda' else None

    sdtr_sps = batch_size * args.iters / elapsed['sdtr']
    plain_sps = batch_size * args.iters / elapsed['plain']
    result = dict(
        config=args.config,
        plain_objective=args.plain_objective,
        tokenize_in_step=args.tokenize_in_step,
        device=device.type,
        device_name=(torch.cuda.get_device_name(device)
                     if device.type == 'cuda' else platform.processor()
                     or platform.machine()),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        batch_size=batch_size,
        iters=args.iters,
        amp=str(cast_dtype).replace('torch.', '') if cast_dtype else None,
        compile=bool(cfg.get('compile')),
        optim_wrapper=type(optim_wrapper).__name__,
        param_groups=len(optim_wrapper.optimizer.param_groups),
        sdtr_samples_per_s=round(sdtr_sps, 2),
        plain_samples_per_s=round(plain_sps, 2),
        ratio=round(sdtr_sps / plain_sps, 3),
        step_time_ratio=round(plain_sps / sdtr_sps, 3),
        sdtr_step_ms=round(1000 * elapsed['sdtr'] / args.iters, 2),
        plain_step_ms=round(1000 * elapsed['plain'] / args.iters, 2),
        breakdown_ms=breakdown,
        peak_memory_mib=peak,
        process_peak_rss_mib=round(resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        loss_first=dict(sdtr=losses['sdtr'][0], plain=losses['plain'][0]),
        loss_last=dict(sdtr=losses['sdtr'][-1], plain=losses['plain'][-1]),
        param_update_norm=update,
    )
    print(json.dumps(result))
    return result


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
