"""Mixed-precision optimiser wrapper that ``torch.compile`` can trace.

mmengine's ``AmpOptimWrapper`` enters autocast through
``mmengine.runner.amp.autocast``, which checks the PyTorch version and the
device's bf16 support on every call.  With ``compile=True`` the Runner
compiles ``model.train_step``, so those checks run inside the traced region
and dynamo fails on them (seen on CUDA).  It also refuses to be built
without a GPU and keeps a dynamic loss scaler for bf16, where none is needed
(bf16 has the exponent range of fp32).

This subclass, registered in the ``sdtr`` scope under the same name (so
``optim_wrapper.type='AmpOptimWrapper'`` in any sdtr config and
``tools/train.py --amp`` use it), differs only in that:

* ``optim_context`` calls ``torch.autocast(device_type, dtype)`` directly,
  with the device type and dtype resolved once when the wrapper is built;
* the device is the one of the optimised parameters: CUDA, or the CPU (bf16
  autocast, e.g. to test compiled AMP training without a GPU);
* ``loss_scale=None`` (default) means a dynamic loss scaler for float16 and
  no scaler for bfloat16; an explicit ``'dynamic'``, number or dict is
  honoured for both, as in mmengine.

Backward, step, gradient clipping and the state dict (``loss_scaler``
included) are mmengine's.  See docs/training.md#speed.
"""
from contextlib import contextmanager
from typing import Optional, Union

import torch
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper
from torch import nn

from sdtr.registry import OPTIM_WRAPPERS

DTYPES = ('float16', 'bfloat16', 'float32')


def resolve_amp_dtype(dtype: Union[str, torch.dtype, None],
                      device_type: str) -> torch.dtype:
    """``'auto'``/None -> bf16 where the device supports it, else fp16."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, 'auto'):
        if device_type == 'cuda' and not torch.cuda.is_bf16_supported():
            return torch.float16
        return torch.bfloat16
    aliases = dict(bf16='bfloat16', fp16='float16', half='float16',
                   fp32='float32')
    name = aliases.get(dtype, dtype)
    if name not in DTYPES:
        raise ValueError(f'AMP dtype must be one of {DTYPES} (or bf16/fp16),'
                         f' got {dtype!r}')
    return getattr(torch, name)


@OPTIM_WRAPPERS.register_module(name='AmpOptimWrapper')
class AmpOptimWrapper(MMEngineAmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper``, traceable by dynamo and CPU-capable.

    Args:
        loss_scale (str | float | dict, optional): ``'dynamic'``, a static
            scale, ``GradScaler`` arguments, or None (dynamic for float16,
            none for bfloat16).
        dtype (str | torch.dtype, optional): autocast dtype (``'bfloat16'``,
            ``'float16'``); None or ``'auto'``: bf16 where supported.
        use_fsdp (bool): use ``ShardedGradScaler``.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict, None] = None,
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False,
                 **kwargs):
        # mmengine's __init__ asserts a GPU; its other set-up is redone here
        OptimWrapper.__init__(self, **kwargs)
        self.device_type = self._params_device_type()
        self.cast_dtype = resolve_amp_dtype(dtype, self.device_type)
        if self.cast_dtype == torch.bfloat16 and \
                self.device_type == 'cuda' and \
                not torch.cuda.is_bf16_supported():
            raise RuntimeError('AmpOptimWrapper: this GPU does not support '
                               "bfloat16; use dtype='float16'")
        if loss_scale is None:
            loss_scale = 'dynamic' if self.cast_dtype == torch.float16 \
                else 'none'
        self._scale_update_param = None
        if use_fsdp:
            from torch.distributed.fsdp.sharded_grad_scaler import \
                ShardedGradScaler

            def scaler_type(**kw):
                return ShardedGradScaler(device=self.device_type, **kw)
        else:
            def scaler_type(**kw):
                return torch.amp.GradScaler(self.device_type, **kw)
        if loss_scale == 'none':
            self.loss_scaler = scaler_type(enabled=False)
        elif loss_scale == 'dynamic':
            self.loss_scaler = scaler_type()
        elif isinstance(loss_scale, (int, float)) and \
                not isinstance(loss_scale, bool):
            self._scale_update_param = float(loss_scale)
            self.loss_scaler = scaler_type(init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            self.loss_scaler = scaler_type(**loss_scale)
        else:
            raise TypeError("loss_scale must be None, 'dynamic', 'none', a "
                            f'number or a dict, got {loss_scale!r}')

    def _params_device_type(self) -> str:
        for group in self.optimizer.param_groups:
            for param in group['params']:
                return param.device.type
        return 'cuda' if torch.cuda.is_available() else 'cpu'

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context of ``OptimWrapper`` + autocast."""
        with OptimWrapper.optim_context(self, model), torch.autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield


def enable_amp(cfg, dtype: Optional[str] = 'auto') -> None:
    """Switch ``cfg.optim_wrapper`` to :class:`AmpOptimWrapper` in place
    (what ``tools/train.py --amp`` does).

    Args:
        cfg (Config): the config.
        dtype (str): ``'auto'`` keeps a dtype the config already sets
            (e.g. the PIR-CLIP schedule's float16) and otherwise lets the
            wrapper choose (bf16 where the device supports it, else fp16
            with a dynamic loss scale); ``'bf16'``/``'fp16'`` (or the
            ``torch`` names) force that dtype.
    """
    wrapper = cfg.optim_wrapper
    wrapper['type'] = 'AmpOptimWrapper'
    if dtype not in (None, 'auto'):
        wrapper['dtype'] = str(resolve_amp_dtype(dtype, 'cpu')).replace(
            'torch.', '')
