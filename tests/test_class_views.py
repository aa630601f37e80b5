"""A class follows what the teacher's pages show, headless (AppTest): layer and channel, fold depth,
diagram node and depth, the convolution's numbers and windows, and the teacher's last training step.

The teacher and the students are AppTest sessions in one process, sharing the in-process
class store as the tabs of one server do. Every check compares the student's page with
what the teacher's session holds after the teacher's own clicks.
"""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from ui.caches.training_copies import training_copies
from tests.test_class_pages import app, fresh_classes  # noqa: F401 - fresh_classes: the autouse fixture


def teacher_and_student(page: str | None, arch: str | None = None) -> tuple[AppTest, AppTest]:
    """A teacher and a following student on ``page`` (None: the default page, where the app opens)."""
    teacher = app()
    teacher.button(key="cl_start").click().run()
    if arch:
        teacher.selectbox(key="sb_arch").set_value(arch).run()
    if page is not None:
        teacher.switch_page(page).run()
    student = app({"class": teacher.session_state["cl_code"]})
    if page is not None:
        student.switch_page(page).run()
    assert not teacher.exception and not student.exception
    return teacher, student


def test_feature_maps_follow_the_teachers_layer_channel_and_grid():
    teacher, student = teacher_and_student("pages/feature-maps.py")
    teacher.selectbox(key="fm_layer").select_index(1).run()
    teacher.button(key="fm_next").click().run()  # ▶: the layer after the one picked
    chosen = teacher.selectbox(key="fm_layer").value
    assert teacher.selectbox(key="fm_layer").index == 2
    teacher.radio(key="fm_order").set_value("strongest").run()
    teacher.selectbox(key="fm_channel").select_index(len(teacher.selectbox(key="fm_channel").options) - 1).run()
    student.run()
    assert student.selectbox(key="fm_layer").value == chosen and student.selectbox(key="fm_layer").disabled
    assert student.button(key="fm_next").disabled and student.button(key="fm_prev").disabled
    assert student.radio(key="fm_order").value == teacher.radio(key="fm_order").value
    assert student.selectbox(key="fm_channel").value == teacher.selectbox(key="fm_channel").value
    assert student.selectbox(key="fm_channel").disabled

    student.button(key="cl_explore").click().run()  # on their own: the view stays, the controls are theirs
    assert student.selectbox(key="fm_layer").value == chosen and not student.selectbox(key="fm_layer").disabled
    student.button(key="fm_next").click().run()
    teacher.run()
    assert student.selectbox(key="fm_layer").index == 3
    assert teacher.selectbox(key="fm_layer").value == chosen  # a student cannot move the teacher


def test_the_layer_table_and_the_diagram_follow_depth_and_node():
    teacher, student = teacher_and_student("pages/layer-table.py", arch="resnet18")
    teacher.slider(key="lt_depth").set_value(3).run()
    student.run()
    assert student.slider(key="lt_depth").value == 3 and student.slider(key="lt_depth").disabled

    teacher.switch_page("pages/architecture-diagram.py").run()
    teacher.slider(key="dg_depth_resnet18").set_value(2).run()
    teacher.toggle(key="dg_collapse").set_value(False).run()
    node = teacher.selectbox(key="dg_node").options[3]
    teacher.selectbox(key="dg_node").set_value(node).run()
    student.run()  # the poll would move the student; here the next run does
    assert [t.value for t in student.title] == ["Architecture diagram · ResNet-18"]
    assert student.slider(key="dg_depth_resnet18").value == 2 and student.slider(key="dg_depth_resnet18").disabled
    assert student.toggle(key="dg_collapse").value is False
    assert student.selectbox(key="dg_node").value == node and student.selectbox(key="dg_node").disabled


def test_convolution_by_hand_follows_the_teachers_numbers_and_windows():
    teacher, student = teacher_and_student(None)  # the default page, at "/"
    teacher.selectbox(key="conv_digit").set_value(3).run()
    teacher.number_input(key="conv_stride").set_value(2).run()
    for _ in range(3):
        teacher.button(key="conv_step_forward").click().run()
    assert teacher.session_state["conv_step"] == 3
    student.run()
    assert student.session_state["conv_step"] == 3
    assert student.number_input(key="conv_stride").value == 2 and student.number_input(key="conv_stride").disabled
    assert np.array_equal(student.session_state["conv_grid"], teacher.session_state["conv_grid"])
    assert student.button(key="conv_step_forward").disabled
    # The window the student sees is the teacher's: the same sum written out.
    assert [c.value for c in student.code][:1] == [c.value for c in teacher.code][:1]


def test_training_followers_see_the_teachers_last_step_and_hold_no_copy():
    teacher, student = teacher_and_student("pages/training-step.py")
    assert any("has not taken a step yet" in i.value for i in student.info)
    held_before = training_copies().holders()
    teacher.button(key="train_one").click().run()
    last = teacher.session_state["train_last"]
    student.run()
    assert not student.exception
    assert "train_owner" not in student.session_state  # no copy asked for, none held
    assert training_copies().holders() == held_before
    shown = {m.label: m.value for m in student.metric}
    assert shown["Loss before"] == f"{last.loss_before:.4g}" and shown["Loss after"] == f"{last.loss_after:.4g}"
    # The page's sections are h2 (headers) since the headings were put in order for screen readers.
    steps_shown = [h.value for h in student.header if h.value.startswith("What step")]
    assert steps_shown == [f"What step 1 did (SGD, learning rate {last.learning_rate:g})"]
    np.testing.assert_allclose(student.session_state["train_last"].grad_norms, last.grad_norms)

    student.button(key="cl_explore").click().run()  # on their own, the student trains a copy of their own
    assert student.button(key="train_one").disabled is False
    assert "train_owner" in student.session_state


def test_where_it_looks_follows_the_teachers_method_layer_class_and_opacity():
    teacher, student = teacher_and_student("pages/where-the-network-looks.py")
    teacher.selectbox(key="wl_method").set_value("layercam").run()
    teacher.selectbox(key="wl_layer").select_index(0).run()
    teacher.selectbox(key="wl_target").set_value(3).run()
    teacher.slider(key="wl_opacity").set_value(0.8).run()
    student.run()
    assert not student.exception
    for kind, key in (("selectbox", "wl_method"), ("selectbox", "wl_layer"), ("selectbox", "wl_target"),
                      ("slider", "wl_opacity")):
        mine, teachers = getattr(student, kind)(key=key), getattr(teacher, kind)(key=key)
        assert mine.value == teachers.value and mine.disabled, key
    assert student.session_state["wl_target"] == 3


def test_the_teacher_is_told_before_uploading_that_the_class_sees_the_picture():
    teacher, student = teacher_and_student("pages/feature-maps.py")
    notice = "Your class sees the picture you choose here"
    teacher.radio(key="fm_source").set_value("upload").run()
    assert any(notice in caption.value for caption in teacher.caption)
    alone = app()  # nobody's class: no such notice
    alone.switch_page("pages/feature-maps.py").run()
    alone.radio(key="fm_source").set_value("upload").run()
    assert not any(notice in caption.value for caption in alone.caption)


def test_a_student_who_trained_before_following_gets_their_own_steps_back():
    teacher = app()
    teacher.button(key="cl_start").click().run()
    student = app()
    student.switch_page("pages/training-step.py").run()
    for _ in range(2):
        student.button(key="train_one").click().run()
    own = student.session_state["train_last"]
    assert own.step == 2
    student.query_params["class"] = teacher.session_state["cl_code"]  # the join link, opened in the same tab
    student.run()
    teacher.switch_page("pages/training-step.py").run()
    teacher.button(key="train_one").click().run()
    student.run()
    assert student.session_state["cl_mode"] == "follow"
    assert student.session_state["train_last"].step == 1  # the teacher's first step is shown
    student.button(key="cl_explore").click().run()
    assert student.session_state["train_last"] is own and len(student.session_state["train_history"]) == 2
