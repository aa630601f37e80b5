"""Each of several pieces of heavy work running at once gets its share of the processor's threads.

PyTorch runs one operation on several threads (OpenMP) by default: all the cores. When a server
works on two pictures at once (``explorer.core.admission``: two turns on a two-core machine), two
passes that each ask for both cores only make the threads wait for one another: a ResNet-18 forward
pass took 55–59 ms of CPU on two threads and 44–45 ms on one, and on the loaded machine two threads
finished no sooner (104–118 ms of wall clock against 64 ms). So a turn runs its torch work on
``cores // turns`` threads.

OpenMP's thread count is a setting of the calling thread (``torch.set_num_threads`` here changes
it for this thread only; other threads keep theirs), so the change is undone when the work ends and
concerns no other student's run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def threads_for_one_of(sharers: int, cores: int | None = None) -> int:
    """The threads one of ``sharers`` pieces of work running together should use: at least one."""
    cores = torch.get_num_threads() if cores is None else cores
    return max(1, cores // max(1, sharers))


@contextmanager
def share_of_threads(sharers: int) -> Iterator[int]:
    """Run the body with this thread's torch work on its share of the cores; yields the thread count."""
    before = torch.get_num_threads()
    share = threads_for_one_of(sharers, before)
    if share != before:
        torch.set_num_threads(share)
    try:
        yield share
    finally:
        if share != before:
            torch.set_num_threads(before)
