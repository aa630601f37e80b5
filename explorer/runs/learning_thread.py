"""A learning run in a background thread, so a page stays live while its network learns.

A Streamlit script that trained for a minute would block its own Stop button, so a
page starts the run here instead and only draws ``snapshot()``s while it goes (its
fragment polls about once a second). The bounds that keep thirty students on one
server safe:

- One thread per run at most (``start`` refuses a second one), and one run per
  student, since each student holds one training copy in the server's store.
- Runs take turns: at most ``training_slots()`` of them compute at once (the CPU
  cores divided by PyTorch's threads per run, so one on a 2-core machine), each
  for a slice of about half a second, so every run keeps moving and none starves.
- The thread asks ``keep_going`` between batches: the page passes "is this browser
  session still connected, and is this still its copy?", so a tab that closes or a
  copy the store let go stops its run within one batch, and the store's sweeper can
  then free the copy.

Stopping, finishing and failing are recorded on the run as a status and one sentence.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import torch

from explorer.core.errors import UserError
from explorer.runs.learning import DigitRun
from explorer.runs.progress import Progress

log = logging.getLogger(__name__)

SLICE_S = 0.5  # a run's turn: long enough that switching costs nothing, short enough that Stop feels instant
WAIT_S = 0.5  # how often a waiting run checks whether it should still wait


def training_slots() -> int:
    """Runs that compute at once: the cores divided by the threads PyTorch gives each run (at least one)."""
    return max(1, (os.cpu_count() or 1) // max(1, torch.get_num_threads()))


_SLOTS = threading.BoundedSemaphore(training_slots())
_LIVE_LOCK = threading.Lock()
_LIVE: set[int] = set()  # ids of runs whose thread is alive


def live_runs() -> int:
    """How many runs are training (or waiting for their turn) on this server right now."""
    with _LIVE_LOCK:
        return len(_LIVE)


class Worker:
    """A ``DigitRun`` and at most one thread that trains it."""

    def __init__(self, run: DigitRun) -> None:
        self.run = run
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snapshot(self) -> Progress:
        return self.run.snapshot()

    def start(self, keep_going: Callable[[], bool] = lambda: True) -> None:
        """Train in a background thread until the plan is done, Stop is pressed or ``keep_going`` says no."""
        if self.is_running:
            raise UserError("The run is already training; press Stop first.")
        if self.run.epochs_planned == 0 or self.run.snapshot().finished:
            raise UserError("Plan some epochs first.")
        self._stop.clear()
        self.run.status, self.run.message = "preparing", None
        self._thread = threading.Thread(target=self._work, args=(keep_going,), daemon=True,
                                        name=f"digit-run-{self.run.spec.id}")
        with _LIVE_LOCK:
            _LIVE.add(id(self))
        self._thread.start()

    def stop(self) -> str | None:
        """Ask the thread to stop after its batch; a sentence (and nothing done) if it was not running."""
        if not self.is_running:
            done = self.run.snapshot()
            return (f"The run has already stopped, after {done.epochs_done:.1f} epochs; "
                    "press Continue to go on or Reset to start again.")
        if self._stop.is_set():
            return "The run is already stopping; it finishes the batch it is on, and nothing it learnt is lost."
        self._stop.set()
        return None

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _work(self, keep_going: Callable[[], bool]) -> None:
        run = self.run
        still_wanted = lambda: not self._stop.is_set() and keep_going()  # noqa: E731
        try:
            run.prepare()
            while still_wanted():
                if not _SLOTS.acquire(blocking=False):
                    run.status = "waiting"
                    if not _SLOTS.acquire(timeout=WAIT_S):
                        continue
                try:
                    run.status = "running"
                    going = run.train_for(SLICE_S, still_wanted)
                finally:
                    _SLOTS.release()
                if not going:
                    break
            if run.status in ("preparing", "waiting", "running"):
                run.status, run.message = "stopped", self._why_stopped()
        except UserError as error:
            run.status, run.message = "failed", str(error)
        except Exception:  # a bug or an exhausted machine: say so, keep the weights, let the page go on
            log.exception("A learning run of %s failed", run.spec.id)
            run.status, run.message = "failed", ("The run stopped because of an error on the server; the weights "
                                                 "are kept, and Continue tries again.")
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(id(self))

    def _why_stopped(self) -> str:
        done = self.run.snapshot()
        if self._stop.is_set():
            return f"Stopped after {done.epochs_done:.1f} of {done.epochs_planned} epochs; press Continue to go on."
        return (f"Stopped after {done.epochs_done:.1f} epochs because the browser tab that started the run "
                "closed or lost its connection; press Continue to go on.")
