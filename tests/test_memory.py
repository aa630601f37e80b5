"""Freed memory goes back to the system: the remedy for the server's growing resident size."""

from __future__ import annotations

import ctypes.util
import sys

import numpy as np
import pytest

from explorer.core import memory


def _resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


@pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                    reason="malloc_trim is glibc's")
def test_freed_heap_memory_between_live_blocks_is_given_back():
    memory.release_freed_memory()
    # 256 KB blocks sit in the heap (below glibc's mmap threshold); every fourth one stays
    # alive, so the freed ones are holes the heap cannot shrink past on its own.
    blocks = [np.ones(256 * 1024, dtype=np.uint8) for _ in range(1600)]  # 400 MB, touched
    kept = blocks[::4]
    del blocks
    before = _resident_mb()
    assert memory.release_freed_memory()
    after = _resident_mb()
    assert before - after > 150, (before, after)  # about 300 MB of holes; at least half must go
    assert len(kept) == 400



@pytest.mark.skipif(memory.free_heap_bytes() is None, reason="mallinfo2 is glibc 2.33's")
def test_the_heap_is_trimmed_only_when_enough_of_it_is_free():
    memory.release_freed_memory(worth=0)
    blocks = [np.ones(256 * 1024, dtype=np.uint8) for _ in range(400)]  # 100 MB in the heap, touched
    kept = blocks[::4]
    del blocks  # about 75 MB of holes
    assert memory.free_heap_bytes() > 60 * 2**20
    before = _resident_mb()
    memory.release_freed_memory(worth=1 << 40)  # nothing near a terabyte is free: left alone
    assert abs(_resident_mb() - before) < 10
    memory.release_freed_memory(worth=32 * 2**20)
    assert before - _resident_mb() > 30
    assert len(kept) == 100
