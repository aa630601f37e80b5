"""Convolution by hand in a class: the teacher's input, filter and settings, copied to every following student.

The page keeps its own state in ``conv_`` keys (pages/convolution-by-hand.py): each control's value,
and two arrays, the grid and the filter, which the page's editors show. The teacher's are
published as one value at the end of each of the teacher's runs; a following student's page
takes them before it draws anything, so the windows being stepped (``conv_step``,
``conv_pool_step``, which the step buttons follow) fall on the same numbers.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui.classroom import follow

NAME = "conv.page"
ARRAYS = ("grid", "filter")


def _settable(value) -> bool:
    return isinstance(value, (bool, int, float, str))


def take_teachers(prefix: str, names) -> None:
    """For a following student: the teacher's settings and arrays into this session, before the page draws."""
    teachers = follow.teacher_value(NAME)
    if not isinstance(teachers, dict):
        return
    state = st.session_state
    for name, value in (teachers.get("settings") or {}).items():
        if name in names and _settable(value):
            state[prefix + name] = state[prefix + "kept_" + name] = value
    for name in ARRAYS:
        try:
            array = np.asarray(teachers.get(name), dtype=float)
        except (TypeError, ValueError):
            continue
        if array.ndim != 2 or array.size == 0:
            continue
        if not np.array_equal(array, np.asarray(state.get(prefix + name)), equal_nan=True):
            state[prefix + name] = array
            state[prefix + name + "_version"] = state.get(prefix + name + "_version", 0) + 1  # its editor restarts


def share(prefix: str, names, setting) -> None:
    """For the teacher: this run's settings and arrays go to the class (nothing for anyone else)."""
    if not follow.leading():
        return
    state = st.session_state
    follow.publish(NAME, {
        "settings": {name: setting(name) for name in names},
        **{name: np.asarray(state[prefix + name], dtype=float).tolist() for name in ARRAYS if prefix + name in state},
    })


def step_from_teacher(key: str, step: int) -> int:
    """The teacher's count of windows done for a following student (their own for anyone else)."""
    teachers = follow.teacher_value("conv." + key)
    return teachers if isinstance(teachers, int) and not isinstance(teachers, bool) else step


def share_step(key: str, step: int) -> None:
    follow.publish("conv." + key, step)
