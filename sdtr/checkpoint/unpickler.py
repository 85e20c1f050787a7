"""The restricted unpickler: nothing in a checkpoint runs.

A pickle may name only the globals of :data:`ALLOWED`, each mapped to a
function that checks its arguments; Python's pure-Python unpickler is used
with every opcode that calls, builds or fills an object replaced, so a forged
file is refused naming the file and the global, never a crash.  TorchScript
classes (``__torch__.*``), and with ``SDTR_TRUST_CHECKPOINTS=1`` any unknown
class, become :class:`Inert` records whose code never runs.
See docs/pretrained_weights.md#what-a-checkpoint-may-contain.
"""
import codecs
import io
import math
import pickle
from collections import OrderedDict

import numpy as np
import torch

from .records import CheckpointError

_NP_KINDS = 'biufcSU'  # no object ('O') or structured ('V') dtypes


class Refused(Exception):
    """An allow-listed global was given arguments it does not accept."""


class Allowed:
    """An allow-listed global: calling it runs ``fn``; ``new`` creates an
    instance of it for NEWOBJ."""

    def __init__(self, qualname, fn=None, new=None):
        self.qualname, self.fn, self.new = qualname, fn, new


class InertGlobal:
    """A global that never runs: calling it makes an :class:`Inert`."""

    def __init__(self, qualname):
        self.qualname = qualname


class Inert(dict):
    """An object kept as data: its class name, call arguments and state."""

    def __init__(self, qualname, args=(), kwargs=None):
        super().__init__()
        self.qualname, self.args, self.kwargs = qualname, args, kwargs
        self.state = None

    def __repr__(self):
        return f'<inert {self.qualname}>'


class Storage:
    """The bytes of a storage record and the dtype they hold."""

    def __init__(self, data: torch.Tensor, dtype: torch.dtype):
        self.data, self.dtype = data, dtype
        self.numel = data.numel() // dtype.itemsize


def _ints(value, what):
    if not isinstance(value, (tuple, list)) or not all(
            type(v) is int and v >= 0 for v in value):
        raise Refused(f'{what} must be non-negative ints, got {value!r}')
    return tuple(value)


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False,
                    hooks=None, metadata=None):
    size, stride = _ints(size, 'size'), _ints(stride, 'stride')
    if not isinstance(storage, Storage) or type(offset) is not int or \
            offset < 0 or hooks or metadata or len(size) != len(stride):
        raise Refused('expected (storage, offset, size, stride), no hooks')
    extent = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if 0 not in size and extent > storage.numel:
        raise Refused(f'a view of {extent} elements of a storage of '
                      f'{storage.numel}')
    tensor = torch.empty(0, dtype=storage.dtype).set_(
        storage.data.untyped_storage(), offset, size, stride)
    tensor.requires_grad = bool(requires_grad)
    return tensor


def _rebuild_parameter(data, requires_grad, hooks):
    if not isinstance(data, torch.Tensor) or hooks:
        raise Refused('expected (tensor, requires_grad, no hooks)')
    return torch.nn.Parameter(data, bool(requires_grad))


def _np_dtype(obj, align=False, copy=False):
    if not isinstance(obj, str) or np.dtype(obj).kind not in _NP_KINDS:
        raise Refused(f'numpy dtype {obj!r} (only bool, number and string '
                      'dtypes: object dtypes build objects from raw bytes)')
    return np.dtype(obj)


def _np_reconstruct(subtype, shape, typecode):
    if subtype is not _ND:
        raise Refused('only plain numpy arrays')
    return np.empty(0, np.uint8)  # replaced at BUILD by _np_array


def _np_array(state):
    """The array of a pickled state, built by sdtr: numpy's ``__setstate__``
    never sees the file's bytes."""
    _, shape, dtype, fortran, raw = state
    shape = _ints(shape, 'array shape')
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NP_KINDS or \
            not isinstance(raw, (bytes, bytearray)) or \
            len(raw) != math.prod(shape) * dtype.itemsize:
        raise Refused('array bytes that do not fit its dtype and shape')
    return np.frombuffer(raw, dtype).reshape(
        shape, order='F' if fortran else 'C').copy(order='K')


def _np_scalar(dtype, raw):
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NP_KINDS or \
            not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise Refused('a scalar of a number dtype and its bytes')
    return np.frombuffer(raw, dtype)[0]


def _np_dtype_state(dtype, state):
    if not (len(state) in (8, 9) and state[1] in ('<', '>', '|', '=')
            and state[2:5] == (None, None, None) and state[7] == 0):
        raise Refused(f'dtype state {state!r}')
    return dtype.newbyteorder(state[1]) if state[1] in '<>' else dtype


def _history_buffer():
    from mmengine.logging import HistoryBuffer
    return HistoryBuffer


def _history_buffer_state(buffer, state):
    methods = state.get('statistics_methods', {})
    if not all(isinstance(k, str) for k in state) or not all(
            getattr(_history_buffer(), str(k), None) is v
            for k, v in methods.items()):
        raise Refused('a HistoryBuffer state with unknown methods')
    buffer.__setstate__(state)
    return buffer


def _getattr(obj, name):
    """``getattr`` as mmengine pickles ``HistoryBuffer``'s statistics
    methods, and nothing else."""
    if isinstance(obj, InertGlobal) and isinstance(name, str):
        return InertGlobal(f'{obj.qualname}.{name}')
    if obj is not _HB or name not in ('min', 'max', 'mean', 'current'):
        raise Refused(f'getattr({getattr(obj, "qualname", obj)!r}, '
                      f'{name!r})')
    return getattr(_history_buffer(), name)


def _checked(fn, *types):
    """``fn(*args)`` when every argument has one of ``types``."""
    def call(*args):
        if not all(isinstance(a, types) for a in args):
            raise Refused(f'arguments {[type(a).__name__ for a in args]}')
        return fn(*args)
    return call


def _encode(text, encoding='latin1'):
    if not isinstance(text, str) or encoding != 'latin1':
        raise Refused('only latin1 text (protocol-2 bytes)')
    return codecs.encode(text, 'latin1')


def _config_dict(*args):
    from mmengine.config import ConfigDict
    return ConfigDict(*_checked(lambda *a: a, dict)(*args))


_ND = Allowed('numpy.ndarray')
_HB = Allowed('mmengine.logging.history_buffer.HistoryBuffer',
              new=lambda: _history_buffer().__new__(_history_buffer()))
_JIT = 'torch.jit._pickle'
#: (module, name) -> the function a call of that global runs
ALLOWED = {
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
    ('torch', 'device'): _checked(torch.device, str, int),
    ('torch', 'Size'): lambda v=(): torch.Size(_ints(v, 'torch.Size')),
    ('collections', 'OrderedDict'): _checked(OrderedDict, list, tuple),
    ('_codecs', 'encode'): _encode,
    ('numpy', 'dtype'): _np_dtype,
    ('numpy', 'ndarray'): _ND,
    **{(m, n): fn for m in ('numpy._core.multiarray', 'numpy.core.multiarray')
       for n, fn in (('_reconstruct', _np_reconstruct),
                     ('scalar', _np_scalar))},
    ('mmengine.logging.history_buffer', 'HistoryBuffer'): _HB,
    ('mmengine.config.config', 'ConfigDict'): _config_dict,
    (_JIT, 'restore_type_tag'): lambda value, tag: value,
    **{(_JIT, f'build_{k}list'): _checked(list, list)
       for k in ('int', 'double', 'bool', 'tensor', 'generic')},
    **{(m, n): fn for m in ('builtins', '__builtin__') for n, fn in (
        ('getattr', _getattr), ('set', _checked(set, list, tuple)),
        ('frozenset', _checked(frozenset, list, tuple)),
        ('bytes', lambda: b''))},  # protocol 2 writes b'' as bytes()
}
#: ``torch.<X>Storage`` of persistent ids -> dtype
_STORAGES = {name: dtype for dtype, name in
             torch.storage._dtype_to_storage_type_map().items()
             if not name.startswith('Q')}
_STORAGES['UntypedStorage'] = torch.uint8


class Unpickler(pickle._Unpickler):
    """Unpickle ``data`` of the file ``name``; ``storage(dtype, key,
    numel)`` reads persistent storages, ``inert(module)`` says which unknown
    globals become :class:`Inert` instead of being refused."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, data, name, storage, inert=lambda module: False):
        super().__init__(io.BytesIO(data), encoding='utf-8')
        self.name, self.storage, self.inert = name, storage, inert

    def refuse(self, what):
        raise CheckpointError(f'{self.name}: the safe unpickler refuses '
                              f'{what}; nothing in the file was run')

    def find_class(self, module, name):
        entry = ALLOWED.get((module, name))
        if entry is not None:
            return entry if isinstance(entry, Allowed) else Allowed(
                f'{module}.{name}', entry)
        if module == 'torch' and name in _STORAGES:
            return _STORAGES[name]
        if module == 'torch' and isinstance(getattr(torch, name, None),
                                            torch.dtype):
            return getattr(torch, name)
        if self.inert(module):
            return InertGlobal(f'{module}.{name}')
        self.refuse(f'global {module}.{name} (not in its allow-list)')

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5
                and pid[0] == 'storage' and isinstance(pid[1], torch.dtype)
                and isinstance(pid[2], str) and type(pid[4]) is int
                and pid[4] >= 0):
            self.refuse(f'persistent id {pid!r}')
        return self.storage(pid[1], pid[2], pid[4])

    def call(self, func, args, kwargs=None):
        if isinstance(func, InertGlobal):
            return Inert(func.qualname, args, kwargs)
        if not isinstance(func, Allowed) or func.fn is None or kwargs:
            self.refuse(f'a call of {getattr(func, "qualname", func)!r} '
                        '(only allow-listed globals are called)')
        try:
            return func.fn(*args)
        except (Refused, TypeError, ValueError) as err:
            self.refuse(f'{func.qualname}: {err}')

    def load_reduce(self):
        args = self.stack.pop()
        self.stack[-1] = self.call(self.stack[-1], args)

    def _instantiate(self, klass, args):  # INST and OBJ opcodes
        self.append(self.call(klass, tuple(args)))

    def load_newobj(self, kwargs=None):
        args, cls = self.stack.pop(), self.stack.pop()
        if isinstance(cls, InertGlobal):
            return self.append(Inert(cls.qualname, args, kwargs))
        if not isinstance(cls, Allowed) or cls.new is None or args or kwargs:
            self.refuse(f'creating {getattr(cls, "qualname", cls)!r}')
        self.append(cls.new())

    def load_newobj_ex(self):
        self.load_newobj(self.stack.pop())

    def load_build(self):
        state, inst = self.stack.pop(), self.stack[-1]
        if isinstance(inst, Inert):
            inst.state = state
            return
        if isinstance(inst, OrderedDict) and isinstance(state, dict) and \
                all(isinstance(k, str) for k in state):
            inst.__dict__.update(state)  # torch's ``_metadata``
            return
        build = (_np_dtype_state if isinstance(inst, np.dtype) else
                 (lambda _, s: _np_array(s)) if isinstance(inst, np.ndarray)
                 else _history_buffer_state if isinstance(
                     inst, _history_buffer()) else None)
        if build is None:
            self.refuse(f'setting the state of a {type(inst).__name__}')
        try:
            new = build(inst, state)
        except (Refused, TypeError, ValueError, AttributeError) as err:
            self.refuse(f'a {type(inst).__name__} state: {err}')
        # the memo may hold ``inst`` (BINPUT before BUILD): point it to new
        self.stack[-1] = new
        for key, value in self.memo.items():
            if value is inst:
                self.memo[key] = new

    def container(self, kind):
        obj = self.stack[-1]
        if not (type(obj) is kind or kind is dict and isinstance(obj, dict)):
            self.refuse(f'filling a {type(obj).__name__} as a '
                        f'{kind.__name__}')
        return obj

    def load_append(self):
        value = self.stack.pop()
        self.container(list).append(value)

    def load_appends(self):
        items = self.pop_mark()
        self.container(list).extend(items)

    def load_setitem(self):
        value, key = self.stack.pop(), self.stack.pop()
        self.container(dict)[key] = value

    def load_setitems(self):
        items = self.pop_mark()
        self.container(dict).update(zip(items[::2], items[1::2]))

    def load_additems(self):
        items = self.pop_mark()
        self.container(set).update(items)

    def load(self):
        try:
            return super().load()
        except CheckpointError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError,
                KeyError, IndexError, AttributeError, RecursionError,
                MemoryError, OverflowError, RuntimeError) as err:
            raise CheckpointError(f'{self.name}: not a readable checkpoint '
                                  f'(truncated or corrupt?): {err!r}') from err


for _op in ('REDUCE', 'NEWOBJ', 'NEWOBJ_EX', 'BUILD', 'APPEND', 'APPENDS',
            'SETITEM', 'SETITEMS', 'ADDITEMS'):
    Unpickler.dispatch[getattr(pickle, _op)[0]] = getattr(
        Unpickler, 'load_' + _op.lower())
