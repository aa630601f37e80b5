"""The Training step page's checks beyond its one picture: held-out pictures before and after, and warnings.

The held-out set depends on the network, its weights, the size and the picture being
trained on (``explorer.runs.held_out``); it is made once per copy and picture and kept
in this session (100 LeNet-5 inputs are 400 KB; three ImageNet photos at 224 about 2 MB).
What a click's steps did to it and the warnings they earned are kept with the step's
result, so they stay on the page until the next click. Keys start with "train_".
"""

from __future__ import annotations

import streamlit as st

from explorer.figures import training as training_charts
from explorer.runs import held_out
from explorer.runs.step_warnings import step_warnings
from explorer.runs.training import Trainer
from ui.selection.record import Selection


def held_out_set(selection: Selection, trainer: Trainer, sample_key: str | None) -> held_out.HeldOut | str:
    """This copy's held-out pictures (or why there are none), made once per copy and picture."""
    key = (st.session_state.get("train_key"), sample_key)
    kept = st.session_state.get("train_held_out")
    if kept is None or kept[0] != key:
        size = selection.size
        found = held_out.held_out_set(selection.spec, selection.weights, size.height, size.width, trainer.source,
                                      sample_key)
        kept = (key, found)
        st.session_state["train_held_out"] = kept
    return kept[1]


def before_steps(trainer: Trainer, held: held_out.HeldOut | str) -> held_out.Score | None:
    return held_out.score(trainer.model, held) if isinstance(held, held_out.HeldOut) else None


def after_steps(trainer: Trainer, held: held_out.HeldOut | str, before: held_out.Score | None, results: list) -> None:
    """Score the held-out pictures after a click's steps, and keep the scores and the warnings for the page."""
    after = held_out.score(trainer.model, held) if before is not None else None
    what = held.what if before is not None else None
    st.session_state["train_checks"] = {
        "before": before, "after": after, "what": what,
        "warnings": step_warnings(results, before, after, what),
        "picture": (results[0].loss_before, results[-1].loss_after) if results else None,
    }


def forget() -> None:
    """After Reset or a new copy: the last click's checks no longer describe the network."""
    st.session_state.pop("train_checks", None)


def show_warnings() -> None:
    """The click's warnings in one box, a sentence a line (layer names escaped for markdown)."""
    sentences = (st.session_state.get("train_checks") or {}).get("warnings", [])
    if sentences:
        st.warning("\n".join(f"- {sentence.replace('_', chr(92) + '_')}" for sentence in sentences),
                   icon=":material/warning:")


def held_out_metric(column) -> None:
    """Held-out accuracy after the click's steps, with its change, beside the picture's own loss."""
    checks = st.session_state.get("train_checks")
    if checks and checks["after"] is not None:
        before, after = checks["before"], checks["after"]
        column.metric("Held-out accuracy", f"{after.accuracy:.0%}",
                      delta=f"{(after.accuracy - before.accuracy) * 100:+.0f} points")
    else:
        column.metric("Held-out accuracy", "—", help="Nothing to hold out against (see below).")


def held_out_note(held: held_out.HeldOut | str | None) -> tuple[str | None, str | None]:
    """(why there are no held-out pictures, or None; what they are, or None) for ``show_held_out``."""
    if isinstance(held, str):
        return held, None
    return None, held.what if held is not None else None


def show_held_out(reason: str | None, what: str | None) -> None:
    """The chart of this picture against the held-out pictures, or the sentence why there are none."""
    checks = st.session_state.get("train_checks")
    if reason is not None:
        st.info(reason)
        return
    if what is None:
        return
    if not checks or checks["after"] is None or checks["picture"] is None:
        st.caption(f"After each click the page also checks {what}, before and after the steps.")
        return
    before, after = checks["before"], checks["after"]
    st.plotly_chart(training_charts.held_out_chart(*checks["picture"], before, after, checks["what"]),
                    width="stretch", key="train_held_out_chart")
    st.caption(
        f"Held-out: {before.correct} of {before.count} right before the click's steps, {after.correct} after "
        f"(loss {before.loss:.3g} → {after.loss:.3g}). These pictures are never trained on: they show whether "
        "fitting this one picture helped or harmed the rest."
    )
