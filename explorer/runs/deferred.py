"""Small outputs copied during a forward pass and reduced in batches of one shape after it.

For an output of a few thousand values the fixed cost of a reduction's dozen tensor operations
outweighs its size, so ``explorer.runs.capture`` copies such outputs into one buffer per shape
(``Deferred.add``) and ``explorer.runs.reduction.reduce`` reduces each buffer in one go
(``Deferred.reduce_all``). Buffers are kept for later captures within ``SPARE_BYTES``.
"""

from __future__ import annotations

import threading

import torch

from explorer.runs.reduction import reduce_maps

# Outputs of at most this many values are copied during the pass and reduced together after it, in
# batches of one shape: for them the fixed cost of a reduction's dozen tensor operations outweighs their
# size. Larger ones are reduced in their hook, while they are in the cache. ResNet-18 at 224×224 defers
# every call from 64×56×56 on: in a hook each of the reduction's passes over such an output (800 kB) costs
# about twice what it costs after the pass (1.3 ms less per capture than reducing them in hooks). A batch
# holds at most _BATCH_VALUES values: larger batches were slower again (measured per output: 512×7×7
# 0.17 ms alone, 0.07 ms in 16; 128×28×28 0.21 alone, 0.13 in 4, 0.17 in 16).
DEFERRED_VALUES = 2**18
_BATCH_VALUES = 2**19
_MOST_IN_BATCH = 16
DEFERRED_BYTES = 64 * 2**20  # the most one capture holds in such copies
# Buffers are used again by later captures: fresh memory costs a page fault per 4 kB the first time it is
# written (measured: 6.7 ms of system time per ResNet-18 capture with fresh buffers, against 1.0 ms).
SPARE_BYTES = 32 * 2**20
_spare: dict[tuple, list[torch.Tensor]] = {}
_spare_lock = threading.Lock()


def _slots(output: torch.Tensor) -> int:
    return max(1, min(_MOST_IN_BATCH, _BATCH_VALUES // output.numel()))


class Slot:
    """Where a deferred output's copy sits; its identity stands for that output until it is reduced."""

    __slots__ = ()


class Deferred:
    """Small C×H×W outputs copied into one buffer per shape during a pass, reduced together after it."""

    def __init__(self) -> None:
        self.buffers: dict[tuple, list[torch.Tensor]] = {}
        self.slots: dict[tuple, list[Slot]] = {}  # in the order of the copies in the buffers
        self.bytes = 0

    def add(self, output: torch.Tensor) -> Slot | None:
        """A copy of ``output`` kept for later, or None where it should be reduced now (too large, or the
        capture's copies are at their limit)."""
        if output.dim() != 3 or not 0 < output.numel() <= DEFERRED_VALUES:
            return None
        key = (tuple(output.shape), output.dtype, output.device)
        buffers, taken = self.buffers.get(key, []), self.slots.setdefault(key, [])
        number = len(taken)
        slots = _slots(output)
        if number == len(buffers) * slots:
            size = slots * output.numel() * output.element_size()
            if self.bytes + size > DEFERRED_BYTES:
                return None
            self.bytes += size
            buffers.append(_take_spare(key, slots))
            self.buffers[key] = buffers
        buffers[number // slots][number % slots].copy_(output)
        taken.append(Slot())
        return taken[-1]

    def reduce_all(self) -> dict[Slot, dict]:
        """Every kept copy reduced, by its slot; the buffers are let go."""
        reduced = {}
        for key, buffers in self.buffers.items():
            slots = len(buffers[0])
            for first in range(0, len(self.slots[key]), slots):
                batch = buffers[first // slots][:min(slots, len(self.slots[key]) - first)]
                for slot, raw in zip(self.slots[key][first:first + slots], reduce_maps(batch, scratch=True)):
                    reduced[slot] = raw
        _give_back(self.buffers)
        self.buffers = {}
        return reduced


def _take_spare(key: tuple, slots: int) -> torch.Tensor:
    shape, dtype, device = key
    with _spare_lock:
        spares = _spare.get(key)
        if spares:
            return spares.pop()
    return torch.empty((slots, *shape), dtype=dtype, device=device)


def _give_back(buffers: dict[tuple, list[torch.Tensor]]) -> None:
    """Keep buffers for the next capture, the most recent shapes first, within ``SPARE_BYTES``."""
    with _spare_lock:
        for key, returned in buffers.items():
            _spare[key] = _spare.pop(key, []) + returned
        while sum(b.nbytes for spares in _spare.values() for b in spares) > SPARE_BYTES:
            oldest = next(iter(_spare))
            _spare[oldest].pop()
            if not _spare[oldest]:
                del _spare[oldest]
