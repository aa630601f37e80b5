"""LeNet-5's held-out curve under the learning recipe, for Train on the digits' chart of a student's design.

The run (``explorer.runs.learning.RECIPE``, from random weights, seed 0) is trained once per
server, in a background thread started by the first page that asks for it, so the chart shows
its curve as it grows and every later visitor gets it finished. It is the server's own work,
not a student's copy, and holds one LeNet-5 (about 1 MB of training memory).
"""

from __future__ import annotations

import atexit
import threading

import streamlit as st

from explorer.core.registry import get_spec
from explorer.inputs.digit_sets import digit_data
from explorer.runs.learning import RECIPE, DigitRun
from explorer.weights import catalogue
from ui.caches.networks import shared_model

REFERENCE = "lenet5"
SLICE_S = 2.0


class ReferenceRun:
    """The recipe's run of LeNet-5, trained in slices by one daemon thread."""

    def __init__(self) -> None:
        spec = get_spec(REFERENCE)
        side = spec.default_size
        source = shared_model(spec.id, "cpu", catalogue.RANDOM)
        self.run = DigitRun(spec, source, side, lambda: digit_data(spec.id, side, catalogue.RANDOM, 0),
                            RECIPE["optimizer"], RECIPE["learning_rate"], RECIPE["batch"], 0, RECIPE["schedule"],
                            RECIPE["shift"])
        self.run.plan(RECIPE["epochs"])
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._train, name="lenet5-reference", daemon=True)
        self.thread.start()
        atexit.register(self.stop)  # a daemon thread still inside torch when Python exits aborts the process

    def _train(self) -> None:
        while not self._stopping.is_set() and self.run.train_for(SLICE_S, lambda: not self._stopping.is_set()):
            pass

    def stop(self) -> None:
        self._stopping.set()
        self.thread.join(timeout=10)

    def points(self) -> tuple[tuple[float, float], ...]:
        """(epochs, held-out accuracy) so far; the whole curve once the thread is done."""
        return self.run.snapshot().held_out_points

    @property
    def finished(self) -> bool:
        return not self.thread.is_alive()


@st.cache_resource(show_spinner=False)
def reference_run() -> ReferenceRun:
    return ReferenceRun()
