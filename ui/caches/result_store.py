"""Server-wide, bounded stores of finished maps and interventions, keyed by plain values.

A class activation map, a saliency map, one unit's gradient or an intervention is worked
out once per picture, network, weights and setting, for every student of the server: the
whole class pressing the same button on the same sample costs one pass. Unlike
``st.cache_data`` these are filled outside the cached call, so a Score-CAM's progress bar
can move while it runs. Each store holds at most ``size`` results, the oldest dropped first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import streamlit as st


class Store:
    """At most ``size`` results, least recently used dropped first; safe for many sessions at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def get_or_make(self, key: Hashable, make: Callable[[], object]):
        found = self.get(key)
        if found is None:
            found = make()  # outside the lock: a long pass must not hold up other students' reads
            with self._lock:
                self._items[key] = found
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return found


# Sizes: a map is at most a float32 copy of the input (4 MB at 1024×1024, 0.2 MB at 224);
# an intervention keeps two reduced captures (about 10 MB for ResNet-18, 52 MB at most).
@st.cache_resource
def maps_store() -> Store:
    return Store(48)


@st.cache_resource
def interventions_store() -> Store:
    return Store(4)
