"""Identity of a model's weights: the digest of the bytes they were loaded
from, computed once when loading and carried by the model.

Galleries, indexes and caches are stamped with :func:`weights_identity`;
nothing derives identity from a path, a size or a modification time.
"""
import hashlib

_ATTR = '_sdtr_weights_identity'


def record_weights_identity(model, digest: str) -> None:
    """Record on ``model`` the digest of the checkpoint bytes just loaded
    into it (called by the loader, once per load)."""
    object.__setattr__(model, _ATTR, str(digest))


def weights_identity(model) -> str:
    """The identity of ``model``'s weights.

    ``'file:<digest>'`` when the weights were loaded from a checkpoint (the
    digest of the bytes read at load time), else ``'state:<sha256>'`` of
    the in-memory state dict (names, dtypes, shapes and values).
    """
    digest = getattr(model, _ATTR, None)
    if digest is not None:
        return f'file:{digest}'
    import torch
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous().view(-1)
        h.update(f'{name}|{t.dtype}|{tuple(tensor.shape)}|'.encode())
        if t.numel():
            h.update(t.view(torch.uint8).numpy().tobytes())
    return f'state:{h.hexdigest()}'
