"""Private views: a separate module tree that shares the weight tensors of a (shared) model.

Hooks on a model change it for every thread that runs it, so the pages never hook
the server's shared model: ``private_view`` gives a separate module tree whose
parameters *are* the shared model's tensors (no copy of the weights), and only that
tree is hooked. Building a view costs a shape-only model (about as much as a small
forward pass), so a few views per shared model are kept for reuse, each lent to one
capture at a time.
"""

from __future__ import annotations

import contextlib
import threading
import weakref

from torch import nn

from explorer.core.shape_only import holding
from explorer.core.registry import ArchSpec


def private_view(spec: ArchSpec, model: nn.Module) -> nn.Module:
    """A separate module tree of ``spec`` whose weights are ``model``'s own tensors (not copies).

    Hooks registered on it are seen by nobody else; building it costs a shape-only
    model (milliseconds to a fraction of a second), not a copy of the weights.
    """
    return holding(spec, model.state_dict()).eval().requires_grad_(False)


_SPARE_VIEWS = 2  # per shared model: as many as captures may run at once (see explorer.runs.capture._RUNNING)
_MODELS_WITH_VIEWS = 4  # shared models whose spare views are kept, most recently used last
_views: dict[tuple[str, int], tuple[weakref.ref, list[nn.Module]]] = {}
_views_lock = threading.Lock()


@contextlib.contextmanager
def lent_view(spec: ArchSpec, model: nn.Module):
    """A private view of ``model`` that no other thread uses until it is given back.

    Spare views are kept per shared model (recognised by identity, through a weak
    reference, so a model the server's cache dropped is not mistaken for a new one
    at the same address); a view holds the model's weight tensors, so views of
    dropped models are let go and only a few models keep spares.
    """
    key = (spec.id, id(model))
    view = None
    with _views_lock:
        for stale in [k for k, (ref, _) in _views.items() if ref() is None]:
            del _views[stale]
        entry = _views.get(key)
        if entry is not None and entry[0]() is model and entry[1]:
            view = entry[1].pop()
    if view is None:
        view = private_view(spec, model)
    try:
        yield view
    finally:
        with _views_lock:
            entry = _views.pop(key, None)
            if entry is None or entry[0]() is not model:
                entry = (weakref.ref(model), [])
            if len(entry[1]) < _SPARE_VIEWS:
                entry[1].append(view)
            _views[key] = entry  # re-inserted: the most recently used model is last
            while len(_views) > _MODELS_WITH_VIEWS:
                del _views[next(iter(_views))]
