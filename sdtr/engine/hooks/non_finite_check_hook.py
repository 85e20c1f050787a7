"""Stop training at the first non-finite loss or gradient.

Without this hook a diverging run (too high a learning rate, an fp16
overflow, a bad sample) keeps training on NaN weights, logs ``loss: nan`` and
saves NaN checkpoints; it stops, if at all, at the next validation with an
error that does not say that training diverged, and runs without validation
end with exit code 0.

The check has two places:

* an optimizer *step pre-hook* (``torch.optim.Optimizer.
  register_step_pre_hook``) looks at the gradients right before every
  optimizer step; if any is NaN/inf the step is skipped (all gradients are
  dropped, so no parameter and no optimizer moment changes) -- the weights
  never become NaN;
* ``after_train_iter`` (priority ``VERY_HIGH``, i.e. before mmengine's
  ``CheckpointHook`` and ``LoggerHook``) looks at every loss term the model
  returned.

``mode='stop'`` (default, in ``configs/_base_/default_runtime.py``): a
non-finite loss or gradient raises :class:`NonFiniteLossError` naming the
iteration, the epoch, the learning rates, every loss term, the gradient norm
and the parameters with non-finite gradients; the exception leaves the
iteration before any checkpoint of it is written.

``mode='skip'`` (opt-in, for fp16 training): such an iteration is skipped
(no step) and counted; ``max_consecutive_skips`` consecutive skips raise the
same error.  With mmengine's ``AmpOptimWrapper`` and a dynamic loss scale the
gradient scaler already skips overflowing steps and lowers the scale; in
both modes those skips are counted the same way, so that a run that never
recovers stops.  In a distributed run the ranks share their verdict (one
small all-reduce per iteration): a loss that is non-finite on one rank only
stops (or skips) every rank, instead of leaving the others waiting in the
next collective.

See ``docs/training.md``.
"""
import math
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmengine.runner import EpochBasedTrainLoop

from sdtr.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """Training produced a non-finite loss or gradient."""


def _value(v) -> Optional[float]:
    if isinstance(v, torch.Tensor):
        if v.numel() != 1:
            return float('nan') if not torch.isfinite(v).all() else float(
                v.float().mean())
        return float(v.detach())
    if isinstance(v, (int, float)):
        return float(v)
    return None


@HOOKS.register_module()
class NonFiniteCheckHook(Hook):
    """Stop (or skip) at non-finite losses and gradients.

    Args:
        mode (str): ``'stop'`` (default) or ``'skip'``.
        max_consecutive_skips (int): consecutive skipped steps (non-finite
            iterations in ``'skip'`` mode, gradient-scaler overflows in both
            modes) after which training stops.
        check_grads (bool): check the gradients before every optimizer step
            (the step is then skipped instead of writing NaN weights).
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 mode: str = 'stop',
                 max_consecutive_skips: int = 25,
                 check_grads: bool = True) -> None:
        if mode not in ('stop', 'skip'):
            raise ValueError(f"mode must be 'stop' or 'skip', got {mode!r}")
        if int(max_consecutive_skips) < 1:
            raise ValueError('max_consecutive_skips must be >= 1, got '
                             f'{max_consecutive_skips}')
        self.mode = mode
        self.max_consecutive_skips = int(max_consecutive_skips)
        self.check_grads = bool(check_grads)
        self.consecutive_skips = 0
        self.total_skips = 0
        self._handles: List = []
        self._bad_grads: Optional[dict] = None
        self._grad_norm: Optional[float] = None
        self._scales: Dict[str, float] = {}

    # ------------------------------------------------------------ set-up
    def _wrappers(self, runner) -> Dict[str, object]:
        wrapper = runner.optim_wrapper
        if isinstance(wrapper, OptimWrapperDict):
            return dict(wrapper.items())
        return {'': wrapper}

    def before_train(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self._names = {id(p): n for n, p in model.named_parameters()}
        if self.check_grads:
            for wrapper in self._wrappers(runner).values():
                self._handles.append(
                    wrapper.optimizer.register_step_pre_hook(self._pre_step))

    def after_run(self, runner) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # ------------------------------------------------------------ checks
    def _pre_step(self, optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups
                 for p in group['params'] if p.grad is not None]
        if not grads:
            return
        norms = torch._foreach_norm(grads)
        total = torch.linalg.vector_norm(
            torch.stack([n.float().to(norms[0].device) for n in norms]))
        total = float(total)
        self._grad_norm = total if self._grad_norm is None else math.hypot(
            self._grad_norm, total)
        if math.isfinite(total):
            return
        bad = [self._names.get(id(p), f'<param {tuple(p.shape)}>')
               for group in optimizer.param_groups for p in group['params']
               if p.grad is not None and not torch.isfinite(p.grad).all()]
        self._bad_grads = dict(norm=total, params=bad)
        # skip this step: parameters without gradient are left untouched
        for group in optimizer.param_groups:
            for p in group['params']:
                p.grad = None

    def _scaler_skipped(self, runner) -> bool:
        """Whether a dynamic gradient scaler skipped this iteration's step
        (its scale went down)."""
        skipped = False
        for name, wrapper in self._wrappers(runner).items():
            scaler = getattr(wrapper, 'loss_scaler', None)
            if scaler is None or not hasattr(scaler, 'get_scale') or \
                    not getattr(scaler, 'is_enabled', lambda: True)():
                continue
            scale = float(scaler.get_scale())
            before = self._scales.get(name)
            self._scales[name] = scale
            if before is not None and scale < before:
                skipped = True
        return skipped

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._bad_grads = None
        self._grad_norm = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        terms = {}
        for key, value in (outputs or {}).items():
            v = _value(value)
            if v is not None:
                terms[key] = v
        bad_terms = [k for k, v in terms.items()
                     if 'loss' in k and not math.isfinite(v)]
        bad_grads = self._bad_grads
        overflow = self._scaler_skipped(runner)
        if get_world_size() > 1:
            # a loss can be non-finite on one rank only: every rank must
            # stop (or skip) together, or the others hang in the next
            # collective
            flags = torch.tensor([bool(bad_terms), bad_grads is not None,
                                  overflow], dtype=torch.int32)
            all_reduce(flags, op='max')
            if flags[0] and not bad_terms:
                bad_terms = ['(on another rank)']
            if flags[1] and bad_grads is None:
                bad_grads = dict(norm=float('nan'),
                                 params=['(on another rank)'])
            overflow = bool(flags[2])
        if not bad_terms and bad_grads is None and not overflow:
            self.consecutive_skips = 0
            return
        self.consecutive_skips += 1
        self.total_skips += 1
        if self.mode == 'stop' and (bad_terms or bad_grads is not None):
            self._fail(runner, batch_idx, terms, bad_terms, bad_grads,
                       'a non-finite loss or gradient (mode=stop)')
        if self.consecutive_skips >= self.max_consecutive_skips:
            self._fail(runner, batch_idx, terms, bad_terms, bad_grads,
                       f'{self.consecutive_skips} consecutive skipped steps '
                       f'(max_consecutive_skips={self.max_consecutive_skips})')
        runner.logger.warning(
            f'Iter {runner.iter + 1}: skipped the optimizer step '
            f'({"gradient-scaler overflow" if overflow and not bad_terms and bad_grads is None else "non-finite loss/gradient"}; '  # noqa: E501
            f'{self.consecutive_skips} in a row, {self.total_skips} in '
            f'total); losses: {self._format_terms(terms)}')

    # ---------------------------------------------------------- message
    @staticmethod
    def _format_terms(terms: dict) -> str:
        return ', '.join(f'{k}={v:.6g}' for k, v in terms.items()) or \
            '(none returned)'

    def _fail(self, runner, batch_idx, terms, bad_terms, bad_grads,
              reason) -> None:
        try:
            parts = []
            for key, values in runner.optim_wrapper.get_lr().items():
                distinct = sorted({float(v) for v in values})
                text = f'{distinct[0]:.6g}' if len(distinct) == 1 else \
                    f'{distinct[0]:.6g}..{distinct[-1]:.6g}'
                parts.append(f'{key}={text} ({len(values)} param groups)'
                             if len(values) > 1 else f'{key}={text}')
            lr_text = ', '.join(parts)
        except Exception:  # noqa: BLE001 - the message must still come out
            lr_text = 'unknown'
        loop = runner.train_loop
        where = f'iteration {runner.iter + 1} of {loop.max_iters}'
        if isinstance(loop, EpochBasedTrainLoop):
            n = len(loop.dataloader) if hasattr(loop.dataloader,
                                                '__len__') else '?'
            where += f' (epoch {runner.epoch + 1}, batch {batch_idx + 1}/{n})'
        else:
            where += f' (data epoch {runner.epoch})'
        lines = [
            f'Training diverged at {where}: {reason}.',
            f'  losses: {self._format_terms(terms)}',
        ]
        if bad_terms:
            lines.append(f'  non-finite loss terms: {", ".join(bad_terms)}')
        if bad_grads is not None:
            params = bad_grads['params']
            lines.append(
                f'  gradient norm: {bad_grads["norm"]}; non-finite gradients '
                f'in {len(params)} parameter(s): {", ".join(params[:10])}'
                + (' ...' if len(params) > 10 else ''))
        elif self._grad_norm is not None:
            lines.append(f'  gradient norm: {self._grad_norm:.6g}')
        lines.append(f'  learning rate: {lr_text}')
        last = runner.message_hub.get_info('last_ckpt')
        lines.append(
            '  The step of this iteration was not applied and no checkpoint '
            'of it was written; last checkpoint: '
            f'{last or "none yet"}.')
        lines.append(
            '  Lower the learning rate, add gradient clipping '
            '(optim_wrapper.clip_grad), check the data, or for fp16 '
            'training use default_hooks.non_finite.mode="skip".')
        message = '\n'.join(lines)
        runner.logger.error(message)
        raise NonFiniteLossError(message)
