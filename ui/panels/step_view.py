"""What the Training step page draws of a click's steps, for the student who took them and for a class.

``show_steps`` draws the last step (loss, probabilities, gradients, updates, filters, the
held-out check and its warnings) and the loss curve from this session's ``train_`` keys.
In a class, the teacher's page shares those same keys' contents after each click
(``share_steps``, as one result through ``ui.classroom.follow``); a following student's page
keeps no training copy and draws the teacher's (``show_teachers_steps``) with the same code.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import streamlit as st

from explorer.figures import descriptions
from explorer.figures import training as training_charts
from explorer.runs import held_out
from explorer.runs import training
from ui.classroom import follow
from ui.panels import step_checks
from ui.widgets.images import picture as show_picture

RESULT = "train.steps"
_SHARED = "train_shared"  # the StepResult last shared with the class (compared by identity)
_SHOWN = ("train_last", "train_checks", "train_start_loss", "train_history")  # what show_steps draws from
_OWN = "train_own"  # a follower's own values of those keys, kept while the teacher's are drawn
# The last step's charts, built once: the page reruns on every control (a new picture, the learning rate) and
# plotly took about 110 ms of server CPU to build them again each time, 95 ms of it the 3×8 filter grid. One
# set per session (about 100 kB for ResNet-18), replaced by the next step's, dropped with the step by Reset or a new network
# (pages/training-step.py), and gone with the session.
_CHARTS = "train_charts"


def step_charts(result: training.StepResult, names: list[str]) -> dict:
    """The probability, gradient, update and filter charts of ``result`` (the same objects while it is the last step)."""
    kept = st.session_state.get(_CHARTS)
    if kept is not None and kept[0] is result and kept[1] == names:
        return kept[2]
    charts = {
        "probabilities": training_charts.probability_chart(result, names),
        "gradients": training_charts.gradient_chart(result),
        "updates": training_charts.update_chart(result),
        "filters": training_charts.filter_chart(result) if result.filters_before is not None else None,
    }
    st.session_state[_CHARTS] = (result, names, charts)
    return charts


def show_result(result: training.StepResult, names: list[str], reason: str | None, what: str | None) -> None:
    st.header(f"What step {result.step} did ({training.OPTIMIZERS[result.optimizer]}, learning rate {result.learning_rate:g})")
    before, after, change, others = st.columns(4)
    before.metric("Loss before", f"{result.loss_before:.4g}")
    after.metric("Loss after", f"{result.loss_after:.4g}", delta=f"{result.loss_after - result.loss_before:+.3g}",
                 delta_color="inverse")
    change.metric(f"Probability of {names[result.target]}", f"{result.probs_after[result.target]:.1%}",
                  delta=f"{(result.probs_after[result.target] - result.probs_before[result.target]) * 100:+.2f} points")
    step_checks.held_out_metric(others)
    step_checks.show_held_out(reason, what)
    charts = step_charts(result, names)
    st.plotly_chart(charts["probabilities"], width="stretch", key="train_probs")
    st.caption(descriptions.probabilities_text(result, names))
    left, right = st.columns(2)
    left.plotly_chart(charts["gradients"], width="stretch", key="train_grads")
    left.caption(descriptions.layers_text(result, result.grad_norms, "The gradient norm"))
    right.plotly_chart(charts["updates"], width="stretch", key="train_updates")
    right.caption(descriptions.layers_text(result, result.update_ratios, "The update relative to the weights"))
    st.caption("Gradient norms shrinking towards the input side show the signal fading on its way back; "
               "a jump of several powers of ten shows it exploding. Weight and bias of a layer count together.")
    if charts["filters"] is not None:
        st.plotly_chart(charts["filters"], width="stretch", key="train_filters")
    else:
        st.caption("This network has no convolution, so there are no filters to show.")


def show_steps(names: list[str], reason: str | None, what: str | None) -> None:
    """The last click's result and the loss curve so far, from this session's ``train_`` keys."""
    last = st.session_state.get("train_last")
    step_checks.show_warnings()
    show_result(last, names, reason, what)
    steps, losses = zip(*st.session_state["train_history"])
    start = st.session_state.get("train_start_loss")
    st.plotly_chart(training_charts.loss_curve(list(steps), list(losses), start), width="stretch", key="train_curve")
    st.caption(descriptions.loss_history_text(steps, losses, start))


def _score(fields: dict | None) -> held_out.Score | None:
    return held_out.Score(**fields) if isinstance(fields, dict) else None


def share_steps(held: held_out.HeldOut | str | None) -> None:
    """For the teacher: the last click's result (or that there is none) goes to the class, once per click."""
    if not follow.leading():
        return
    last = st.session_state.get("train_last")
    if last is None:
        follow.publish(RESULT, None)
        return
    if st.session_state.get(_SHARED) is last:
        return
    checks = dict(st.session_state.get("train_checks") or {})
    for name in ("before", "after"):
        checks[name] = dataclasses.asdict(checks[name]) if checks.get(name) is not None else None
    reason, what = step_checks.held_out_note(held)
    follow.publish_result(RESULT, {
        **dataclasses.asdict(last), "history": [list(point) for point in st.session_state["train_history"]],
        "start_loss": st.session_state.get("train_start_loss"), "checks": checks, "reason": reason, "what": what,
    })
    st.session_state[_SHARED] = last


def show_teachers_steps(names: list[str]) -> None:
    """For a following student: the teacher's last click, drawn as the teacher sees it (no copy of their own)."""
    st.info("You follow your teacher: below is what the teacher's last click did to the teacher's copy of the "
            "network. “Explore on my own” in the sidebar gives you a copy of your own to train.",
            icon=":material/groups:")
    fields = follow.teacher_result(RESULT) if follow.teacher_value(RESULT) is not None else None
    if fields is None:
        st.info("The teacher has not taken a step yet; it appears here when they do.")
        return
    names_of = {field.name for field in dataclasses.fields(training.StepResult)}
    values = {name: fields[name] for name in names_of}
    values["layers"], values["layer_types"] = tuple(values["layers"]), tuple(values["layer_types"])
    for name in ("probs_before", "probs_after", "grad_norms", "weight_norms", "update_norms"):
        values[name] = np.asarray(values[name])
    result = training.StepResult(**values)
    checks = fields.get("checks") or {}
    checks.update(before=_score(checks.get("before")), after=_score(checks.get("after")))
    if isinstance(checks.get("picture"), list):
        checks["picture"] = tuple(checks["picture"])
    # Drawn by the same code as the teacher's page, from this session's keys (it holds no copy); the
    # student's own steps, if any, are put aside until they train on their own again (take_back_own).
    st.session_state.setdefault(_OWN, {key: st.session_state[key] for key in _SHOWN if key in st.session_state})
    st.session_state.update(train_last=result, train_checks=checks, train_start_loss=fields.get("start_loss"),
                            train_history=[tuple(point) for point in fields.get("history") or [(result.step, result.loss_after)]])
    if not 0 <= result.target < len(names):
        st.info("The teacher's network has other classes than this one shows.")
        return
    picture, label = follow.class_picture(None, "the teacher's picture")
    if picture is not None:  # read successfully on the teacher's page before it was shared
        show_picture(picture, f"{label[:1].upper()}{label[1:]}, the picture the step trained on.", width=160,
                     caption=f"{label[:1].upper()}{label[1:]}, trained towards class {result.target}: "
                             f"{names[result.target]}.")
    show_steps(names, fields.get("reason"), fields.get("what"))


def take_back_own() -> None:
    """Back from following: the student's own last step and loss curve, as they left them."""
    own = st.session_state.pop(_OWN, None)
    if own is not None:
        for key in _SHOWN:
            st.session_state.pop(key, None)
        st.session_state.update(own)
