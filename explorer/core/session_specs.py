"""Architectures made for one visitor (a student's design), found by id but never listed.

``explorer.core.registry.get_spec`` looks here after the global list, so every
function that takes an architecture id works on a "design-<hash>" spec too, while
``ARCHITECTURES`` (every list a student sees) stays the same for everyone. The id
is a hash of the network itself, so two sessions with the same design share one
entry; past the bound the least recently remembered go first, and a page calls
``keep`` again whenever it uses its design.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

KEPT = 256
_SPECS: OrderedDict[str, object] = OrderedDict()
_LOCK = threading.Lock()


def keep(arch_id: str, spec: object) -> None:
    with _LOCK:
        _SPECS[arch_id] = spec
        _SPECS.move_to_end(arch_id)
        while len(_SPECS) > KEPT:
            _SPECS.popitem(last=False)


def find(arch_id: object) -> object | None:
    with _LOCK:
        return _SPECS.get(arch_id) if isinstance(arch_id, str) else None
