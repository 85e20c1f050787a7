"""sdtr's AmpOptimWrapper: CPU bf16 autocast, the dtype/loss-scale rules,
and traceable by dynamo (compile=True with AMP).

torch.compile with the default inductor backend compiles C++ kernels on
the CPU (minutes), so these tests trace with ``backend='eager'``: dynamo
captures the same graphs (a Python error or a forbidden call inside
``optim_context`` fails the same way), only code generation is skipped.
The compiled speed is measured on a GPU with
tools/analysis_tools/benchmark_train.py --compile (README "Performance")."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from sdtr.engine.optimizers import (AmpOptimWrapper, enable_amp,
                                    resolve_amp_dtype)
from sdtr.registry import MODELS
from sdtr.utils import register_all_modules

register_all_modules(init_default_scope=True)
REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'


def tiny_model_and_wrapper():
    cfg = Config.fromfile(str(TINY))
    enable_amp(cfg)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    return model, wrapper


def batch(n=4, seed=0):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8,
                           generator=g)
    words = ['a red plane', 'two green trees', 'a river near houses',
             'many cars parked']
    samples = [DataSample(metainfo=dict(text=words[i % 4], img_id=i, pid=i))
               for i in range(n)]
    return dict(inputs=images, data_samples=samples)


def test_bf16_on_cpu_without_loss_scaler():
    model, wrapper = tiny_model_and_wrapper()
    assert isinstance(wrapper, AmpOptimWrapper)
    assert (wrapper.device_type, wrapper.cast_dtype) == ('cpu',
                                                         torch.bfloat16)
    assert not wrapper.loss_scaler.is_enabled()
    x = torch.randn(2, 3, 64, 64)
    with wrapper.optim_context(model):
        out = model.encode_image(x)['global']
    assert out.dtype == torch.bfloat16
    before = [p.detach().clone() for p in model.parameters()]
    log = model.train_step(batch(), wrapper)
    assert torch.isfinite(log['loss'])
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()))


def test_dtype_and_loss_scale_rules():
    assert resolve_amp_dtype('bf16', 'cpu') == torch.bfloat16
    assert resolve_amp_dtype('fp16', 'cuda') == torch.float16
    assert resolve_amp_dtype(None, 'cpu') == torch.bfloat16
    with pytest.raises(ValueError, match='AMP dtype must be one of'):
        resolve_amp_dtype('int8', 'cpu')
    p = torch.nn.Parameter(torch.zeros(2))
    fp16 = AmpOptimWrapper(optimizer=torch.optim.SGD([p], lr=1.0),
                           dtype='float16')
    assert fp16.loss_scaler.is_enabled()  # dynamic for fp16
    static = AmpOptimWrapper(optimizer=torch.optim.SGD([p], lr=1.0),
                             dtype='bfloat16', loss_scale=8.0)
    assert static.loss_scaler.get_scale() == 8.0
    with pytest.raises(TypeError, match='loss_scale must be'):
        AmpOptimWrapper(optimizer=torch.optim.SGD([p], lr=1.0),
                        loss_scale='big')
    # a dtype set by the config (PIR-CLIP's float16) survives --amp
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper',
                                         dtype='float16')))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float16'


def test_optim_context_traces_as_one_graph():
    """No graph break inside the autocast context (mmengine's version and
    bf16-support checks used to run there)."""
    torch._dynamo.reset()
    model, wrapper = tiny_model_and_wrapper()
    model.eval()

    def forward(x):
        with wrapper.optim_context(model):
            return model.encode_image(x)['global']

    x = torch.randn(2, 3, 64, 64)
    compiled = torch.compile(forward, backend='eager', fullgraph=True)
    torch.testing.assert_close(compiled(x), forward(x), rtol=0, atol=0)


def test_compiled_train_step_with_amp_trains():
    """What the Runner does for compile=True (``torch.compile`` of
    ``model.train_step``), with the AMP wrapper: same losses as eager."""
    torch._dynamo.reset()
    model, wrapper = tiny_model_and_wrapper()
    eager_model, eager_wrapper = tiny_model_and_wrapper()
    eager_model.load_state_dict(model.state_dict())
    model.train_step = torch.compile(model.train_step, backend='eager')
    for step in range(2):
        data = batch(seed=step)
        torch.manual_seed(step)
        loss = model.train_step(data, wrapper)['loss']
        torch.manual_seed(step)
        ref = eager_model.train_step(copy.deepcopy(data),
                                     eager_wrapper)['loss']
        torch.testing.assert_close(loss, ref)
