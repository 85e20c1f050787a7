"""Linear warm-up followed by cosine or linear annealing, as ONE scheduler.

mmengine chains parameter schedulers multiplicatively: a ``LinearLR``
warm-up and a ``CosineAnnealingLR`` that both start at step 0 multiply, so
the learning rate never reaches its nominal value (with a 2,000-iteration
warm-up over a 1,340-iteration run it peaks at about a quarter of it).
:class:`WarmupAnnealingLR` computes the whole curve in closed form from the
initial learning rate of each parameter group, so the warm-up ends exactly
where the annealing begins, and the run length comes from the runner:
leave ``end`` unset and mmengine fills in ``train_cfg.max_epochs`` (times
the real number of iterations per epoch with ``convert_to_iter_based``).
Changing ``train_cfg.max_epochs`` (or the batch, hence the iterations per
epoch) therefore moves the end of the schedule with it.

The schedules of the papers reproduced here (docs/reproduction.md):

* IRRA / VFE-TPS: warm-up 5 epochs from 0.1x, cosine to 0, stepped per
  epoch (``anosorae/IRRA`` ``solver/lr_scheduler.py``, ``mode='cosine'``).
* EKLSR §4.2: 2,000 warm-up iterations, then cosine.
* PIR-ITR: linear warm-up over the first 10 % of the iterations from 0, then
  linear decay to 0, per iteration (``jaychempan/PIR`` ``scheduler.py``).
* PIR-CLIP: 10,000 warm-up iterations then cosine (open_clip
  ``cosine_lr``).

Value at step ``s`` (``0 <= s < T = end - begin``, warm-up ``W`` steps)::

    s <  W:  lr = base * (f0 + (1 - f0) * s / W)
    s >= W:  p = (s - W) / (T - W)
             cosine: lr = eta_min + (base - eta_min) * (1 + cos(pi p)) / 2
             linear: lr = eta_min + (base - eta_min) * (1 - p)

so the peak ``lr = base`` is reached at step ``W``, the first annealing
step.  ``base`` is each group's initial lr (``lr_mult`` of ``paramwise_cfg``
and ``auto_scale_lr`` included).
"""
import math
from typing import Optional

from mmengine.logging import print_log
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from sdtr.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class WarmupAnnealingLR(_ParamScheduler):
    """Linear warm-up, then cosine or linear annealing (closed form).

    The warm-up length is given by exactly one of ``warmup_iters``,
    ``warmup_epochs`` or ``warmup_ratio`` (or none: no warm-up), optionally
    capped by ``max_warmup_ratio`` of the run.

    Args:
        optimizer (OptimWrapper | Optimizer): wrapped optimizer.
        warmup_iters (int, optional): warm-up length in iterations (needs
            an iteration-based schedule: ``by_epoch=True`` with
            ``convert_to_iter_based=True``, or ``by_epoch=False``).
        warmup_epochs (float, optional): warm-up length in epochs
            (converted with the real iterations per epoch when the
            schedule is iteration-based).
        warmup_ratio (float, optional): warm-up length as a fraction of the
            run, in ``[0, 1)``.
        max_warmup_ratio (float, optional): cap the warm-up at this
            fraction of the run (e.g. EKLSR's 2,000 iterations on a
            1,340-iteration RSITMD run).  ``None``: no cap.
        warmup_start_factor (float): lr factor at the first step of the
            warm-up, in ``[0, 1]``.  Defaults to 0.
        anneal (str): ``'cosine'`` or ``'linear'`` (to ``eta_min``).
        eta_min (float): absolute lr at the end of the annealing.
        begin (int): first step of the schedule.  Defaults to 0.
        end (int): step after the last one.  Leave unset in configs: the
            runner sets it to the end of training.
        last_step (int): for resuming without a state dict.
        by_epoch (bool): step per epoch (True) or per iteration (False).
        verbose (bool): print every update.
    """

    def __init__(self,
                 optimizer,
                 warmup_iters: Optional[int] = None,
                 warmup_epochs: Optional[float] = None,
                 warmup_ratio: Optional[float] = None,
                 max_warmup_ratio: Optional[float] = None,
                 warmup_start_factor: float = 0.0,
                 anneal: str = 'cosine',
                 eta_min: float = 0.0,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False,
                 epoch_length: Optional[int] = None):
        given = [n for n, v in (('warmup_iters', warmup_iters),
                                ('warmup_epochs', warmup_epochs),
                                ('warmup_ratio', warmup_ratio))
                 if v is not None]
        if len(given) > 1:
            raise ValueError(
                f'WarmupAnnealingLR: give one warm-up length, got '
                f'{" and ".join(given)}')
        if anneal not in ('cosine', 'linear'):
            raise ValueError(f"WarmupAnnealingLR: anneal must be 'cosine' "
                             f"or 'linear', got {anneal!r}")
        if not 0.0 <= warmup_start_factor <= 1.0:
            raise ValueError('WarmupAnnealingLR: warmup_start_factor must be '
                             f'in [0, 1], got {warmup_start_factor}')
        if end >= INF:
            raise ValueError(
                'WarmupAnnealingLR needs the length of the run: leave `end` '
                'unset in a config trained by the runner (it becomes '
                'train_cfg.max_epochs, in iterations with '
                'convert_to_iter_based=True), or pass `end` when building '
                'it by hand')
        total = end - begin
        if warmup_iters is not None:
            if by_epoch:
                raise ValueError(
                    'WarmupAnnealingLR: warmup_iters needs an iteration-'
                    'based schedule; set convert_to_iter_based=True (or '
                    'by_epoch=False), or give warmup_epochs')
            warmup = int(warmup_iters)
        elif warmup_epochs is not None:
            steps = warmup_epochs if by_epoch else \
                warmup_epochs * (epoch_length or 0)
            if not by_epoch and not epoch_length:
                raise ValueError(
                    'WarmupAnnealingLR: warmup_epochs of an iteration-based '
                    'schedule needs the iterations per epoch; use '
                    'by_epoch=True with convert_to_iter_based=True')
            warmup = int(round(steps))
        elif warmup_ratio is not None:
            if not 0.0 <= warmup_ratio < 1.0:
                raise ValueError('WarmupAnnealingLR: warmup_ratio must be in '
                                 f'[0, 1), got {warmup_ratio}')
            warmup = int(warmup_ratio * total)
        else:
            warmup = 0
        if warmup < 0:
            raise ValueError(f'WarmupAnnealingLR: negative warm-up {warmup}')
        self.requested_warmup = warmup
        if max_warmup_ratio is not None:
            if not 0.0 < max_warmup_ratio <= 1.0:
                raise ValueError('WarmupAnnealingLR: max_warmup_ratio must be '
                                 f'in (0, 1], got {max_warmup_ratio}')
            warmup = min(warmup, int(max_warmup_ratio * total))
        unit = 'epochs' if by_epoch else 'iterations'
        if warmup >= total:
            print_log(
                f'WarmupAnnealingLR: the warm-up ({warmup} {unit}) is as long '
                f'as the run ({total} {unit}): the lr never reaches its '
                f'peak and never anneals. Cap it with max_warmup_ratio.',
                logger='current', level=30)
        elif warmup != self.requested_warmup:
            print_log(
                f'WarmupAnnealingLR: warm-up capped at {warmup} of '
                f'{self.requested_warmup} {unit} (max_warmup_ratio='
                f'{max_warmup_ratio} of {total} {unit})', logger='current')
        self.warmup_steps = warmup
        self.total_steps = total
        self.warmup_start_factor = float(warmup_start_factor)
        self.anneal = anneal
        self.eta_min = float(eta_min)
        self.epoch_length = epoch_length
        super().__init__(optimizer, 'lr', begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch,
                         verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, begin=0, end=INF, by_epoch=True,
                              epoch_length=None, **kwargs):
        """Build an iteration-stepped instance from an epoch-based config
        (``convert_to_iter_based=True``): ``begin``/``end`` and
        ``warmup_epochs`` are converted with the real iterations per epoch.
        """
        if not by_epoch:
            raise ValueError('convert_to_iter_based needs by_epoch=True')
        if not epoch_length or epoch_length <= 0:
            raise ValueError('convert_to_iter_based needs the iterations per '
                             f'epoch, got epoch_length={epoch_length}')
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False,
                   epoch_length=epoch_length, **kwargs)

    def factor(self, step: int, base: float) -> float:
        """The lr of a group whose initial lr is ``base`` at ``step``."""
        warm, total = self.warmup_steps, self.total_steps
        if step < warm:
            f0 = self.warmup_start_factor
            return base * (f0 + (1.0 - f0) * step / warm)
        progress = (step - warm) / max(total - warm, 1)
        if self.anneal == 'cosine':
            shape = (1.0 + math.cos(math.pi * progress)) / 2.0
        else:
            shape = 1.0 - progress
        return self.eta_min + (base - self.eta_min) * shape

    def _get_value(self):
        return [self.factor(self.last_step, base) for base in self.base_values]
