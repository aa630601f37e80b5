"""Heavy work running side by side gets its share of torch's threads, in its own thread only."""

from __future__ import annotations

import threading

import pytest
import torch

from explorer.core.thread_share import share_of_threads, threads_for_one_of


@pytest.mark.parametrize(("sharers", "cores", "expected"), [(2, 2, 1), (2, 8, 4), (3, 8, 2), (4, 2, 1), (1, 2, 2), (0, 2, 2)])
def test_each_sharer_gets_a_whole_share_of_at_least_one_thread(sharers, cores, expected):
    assert threads_for_one_of(sharers, cores) == expected


def test_the_share_holds_inside_the_body_and_is_given_back_after():
    before = torch.get_num_threads()
    with share_of_threads(before) as inside:
        assert inside == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), share_of_threads(before):
        raise RuntimeError("the work failed")
    assert torch.get_num_threads() == before


@pytest.mark.skipif(torch.get_num_threads() < 2, reason="one core: there is nothing to share")
def test_another_threads_share_does_not_change_this_threads_count():
    before, seen, entered, leave = torch.get_num_threads(), [], threading.Event(), threading.Event()

    def student() -> None:
        with share_of_threads(before):
            seen.append(torch.get_num_threads())
            entered.set()
            leave.wait(10)

    worker = threading.Thread(target=student)
    worker.start()
    assert entered.wait(10)
    assert seen == [1]
    assert torch.get_num_threads() == before  # this thread keeps all of them meanwhile
    leave.set()
    worker.join(10)
