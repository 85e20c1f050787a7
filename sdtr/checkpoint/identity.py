"""Identity of a model's weights: the digest of the bytes they were loaded
from, computed once when loading and carried by the model.

Galleries, indexes and caches are stamped with :func:`weights_identity`;
nothing derives identity from a path, a size or a modification time.  The
recorded digest holds while the weights are unchanged: it also notes each
tensor's version counter (bumped by every in-place change, an optimizer
step or a ``load_state_dict``), and once any differs the identity is the
hash of the weights themselves.
"""
import hashlib
from itertools import chain

_ATTR = '_sdtr_weights_identity'


def _versions(model) -> tuple:
    return tuple(t._version for t in chain(model.parameters(),
                                           model.buffers()))


def record_weights_identity(model, digest: str) -> None:
    """Record on ``model`` the digest of the checkpoint bytes just loaded
    into it (called by the loader, once per load)."""
    object.__setattr__(model, _ATTR, (str(digest), _versions(model)))


def weights_identity(model) -> str:
    """The identity of ``model``'s weights.

    ``'file:<digest>'`` when the weights are those loaded from a checkpoint
    (the digest of the bytes read at load time), else ``'state:<sha256>'``
    of the in-memory state dict (names, dtypes, shapes and values).
    """
    recorded = getattr(model, _ATTR, None)
    if recorded is not None and recorded[1] == _versions(model):
        return f'file:{recorded[0]}'
    import torch
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous().view(-1)
        h.update(f'{name}|{t.dtype}|{tuple(tensor.shape)}|'.encode())
        if t.numel():
            h.update(t.view(torch.uint8).numpy().tobytes())
    return f'state:{h.hexdigest()}'
