"""The "Train on the digits" page's run: held in this session's training copy, trained by a background thread.

The run (``explorer.runs.learning_thread.Worker``) lives in the server's one store of
training copies, like the Training step's copy; each student holds one copy, so
starting a run replaces the Training step's copy and the other way round. Merely
opening this page makes nothing: a copy is asked for only when Start is pressed.

The thread asks ``keep_going`` between batches: it stops as soon as this browser
session disconnects or the store no longer holds this very run (replaced, put away,
or freed), and the store's sweeper frees the copy of a tab that is gone.
Keys of this page start with "dg_".
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import streamlit as st

from explorer.classroom.budget import training_bytes
from explorer.core.registry import ArchSpec
from explorer.inputs.digit_sets import DRAWN_PER_DIGIT, digit_data
from explorer.runs.learning import DigitRun
from explorer.runs.learning_thread import Worker
from explorer.weights import catalogue
from ui import streamlit_adapter
from ui.caches.networks import cached_layer_table, shared_model
from ui.caches.training_copies import private_copy, session_owner, training_copies
from ui.selection.record import Selection
from ui.selection.weights_panel import selected_model


def run_key(selection: Selection, side: int, start: str, batch: int, drawn: bool) -> tuple:
    """What makes one run: changing any of these starts another run (settings like the rate do not)."""
    weights = catalogue.RANDOM if start == catalogue.RANDOM else selection.weights_key
    return ("digits", selection.spec.id, side, selection.device, weights, batch, drawn)


def copy_bytes(spec: ArchSpec, side: int, batch: int) -> int:
    """The copy's estimate for the store: Adam's state counted whatever the optimiser, as it may change mid-run."""
    totals = cached_layer_table(spec.id, side, side, batch).totals
    return training_bytes(totals.param_bytes, "adam", totals.forward_backward_bytes)


def held_run(key: tuple) -> Worker | None:
    """This session's run for ``key`` if the store holds it (nothing is made)."""
    owner = session_owner()
    notice = training_copies().put_away_notice(owner)
    if notice:
        st.info(notice)
    found = training_copies().get(owner, key)
    return found if isinstance(found, Worker) else None


def new_run(selection: Selection, key: tuple, side: int, start: str, settings: dict) -> Worker | None:
    """A fresh run in this session's copy (replacing whatever copy it held), or None after the budget's sentence."""
    spec = selection.spec
    drawn = DRAWN_PER_DIGIT if key[-1] else 0
    weights = catalogue.RANDOM if start == catalogue.RANDOM else selection.weights  # the pictures' preprocessing

    def make() -> Worker:
        source = (shared_model(spec.id, selection.device, catalogue.RANDOM) if start == catalogue.RANDOM
                  else selected_model(selection))
        run = DigitRun(spec, source, side, lambda: digit_data(spec.id, side, weights, drawn),
                       settings["optimizer"], settings["rate"], settings["batch"])
        return Worker(run)

    label = f"{spec.name} learning the digits at {side}×{side}"
    return private_copy(key, label, copy_bytes(spec, side, settings["batch"]), make)


def keep_going_for(key: tuple) -> Callable[[], bool]:
    """What the run's thread asks between batches: is this tab still here, and is this still its copy?

    The page holds its run through a weak proxy (ui.caches.training_copies.private_copy), so the run
    is recognised by a weak reference to what the store holds now, which keeps nothing alive.
    """
    owner = session_owner()
    session_id = owner.rsplit("/", 1)[0]
    copies = training_copies()
    held = copies.get(owner, key)
    run = weakref.ref(held) if held is not None else lambda: None

    def keep_going() -> bool:
        if not streamlit_adapter.session_is_active(session_id):
            return False
        found = copies.get(owner, key)
        return found is not None and found is run()

    return keep_going
