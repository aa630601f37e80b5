"""Class mode in the app, headless (AppTest): a teacher's session and a student's, sharing the server's classes.

Several AppTest sessions in one process share ``st.cache_resource``, so they share the
in-process class store as the tabs of one server do. The Redis test points the app at a
real redis-server and kills it mid-test.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from explorer.classroom import redis_store
from explorer.runs import capture
from ui.classroom import session as class_session
from tests.conftest import ROOT
from tests.test_classroom import _wait_for, store_answers


@pytest.fixture(autouse=True)
def fresh_classes():
    class_session.classroom.clear()
    yield
    class_session.classroom.clear()


def app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def texts(at: AppTest) -> list[str]:
    return [element.value for kind in ("warning", "info", "error", "markdown", "caption") for element in at.get(kind)]


def start(at: AppTest) -> str:
    at.button(key="cl_start").click().run()
    return at.session_state["cl_code"]


def test_a_student_follows_the_sidebar_and_the_page_with_the_controls_disabled():
    teacher = app()
    code = start(teacher)
    teacher.selectbox(key="sb_arch").set_value("resnet18").run()
    teacher.switch_page("pages/layer-table.py").run()
    student = app({"class": code})
    assert student.session_state["cl_mode"] == "follow"
    assert student.selectbox(key="sb_arch").value == "resnet18" and student.selectbox(key="sb_arch").disabled
    assert student.number_input(key="sb_height").value == 224 and student.number_input(key="sb_height").disabled
    assert [t.value for t in student.title] == ["Layer table · ResNet-18"]
    assert student.query_params["class"] == code

    teacher.number_input(key="sb_height").set_value(96).run()
    student.run()
    assert student.number_input(key="sb_width").value == 96  # square: the width came along

    student.button(key="cl_explore").click().run()
    assert not student.selectbox(key="sb_arch").disabled
    student.selectbox(key="sb_arch").set_value("vgg11").run()
    teacher.selectbox(key="sb_arch").set_value("alexnet").run()
    student.run()
    assert student.selectbox(key="sb_arch").value == "vgg11"  # exploring: the teacher no longer drives
    student.button(key="cl_follow").click().run()
    assert student.selectbox(key="sb_arch").value == "alexnet"


def test_a_teacher_who_ends_the_class_is_told_so_and_not_that_the_class_is_missing():
    teacher = app()
    code = start(teacher)
    assert teacher.query_params["class"] == code  # the join link is in the teacher's address bar
    teacher.button(key="cl_end").click().run()
    assert "The class has ended; the students keep what they see." in texts(teacher)
    assert not [text for text in texts(teacher) if text.startswith("No class with the code")]
    assert "class" not in teacher.query_params


def test_nothing_a_student_sees_carries_the_teachers_secret():
    teacher = app()
    code = start(teacher)
    token = teacher.session_state["cl_lead"].token
    student = app({"class": code, "lead": token, "token": token, "explorer_class_lead": f"{code}.{token}"})
    assert student.session_state["cl_mode"] == "follow" and "cl_lead" not in student.session_state
    shown = " ".join(texts(student)) + " ".join(str(v) for v in student.query_params.values())
    assert token not in shown
    # The teacher's page holds it in exactly one place: the script that writes the cookie.
    holders = [element for element in teacher.get("html") if token in element.proto.body]
    assert len(holders) == 1 and "SameSite=Strict" in holders[0].proto.body
    assert token not in str(dict(teacher.query_params))


def test_an_unknown_code_is_one_sentence_and_the_app_works_as_usual():
    at = app({"class": "KXM4TR"})
    assert "No class with the code KXM4TR is running; ask your teacher for the link." in texts(at)
    assert not at.exception and "cl_mode" not in at.session_state
    assert not at.selectbox(key="sb_arch").disabled and "class" not in at.query_params


def test_a_following_student_reuses_the_teachers_forward_pass(tmp_path, monkeypatch):
    log = tmp_path / "passes.log"
    monkeypatch.setattr(capture, "PASS_LOG", str(log))
    teacher = app()
    code = start(teacher)
    # A size no other test captures at, so that the server's cache of captures starts cold here.
    teacher.number_input(key="sb_height").set_value(34).run()
    teacher.switch_page("pages/feature-maps.py").run()
    assert not teacher.exception and len(log.read_text().splitlines()) == 1
    student = app({"class": code})
    student.switch_page("pages/feature-maps.py").run()
    assert not student.exception
    assert len(log.read_text().splitlines()) == 1  # the same picture, network and size: the teacher's cached pass
    teachers_picture = teacher.session_state["fm_previous"][0]
    assert student.session_state["fm_previous"][0] == teachers_picture


def test_a_hostile_upload_is_refused_for_the_teacher_only_and_the_class_keeps_the_last_good_picture():
    from tests.browser.classroom_helpers import photo_png

    teacher = app()
    code = start(teacher)
    teacher.switch_page("pages/feature-maps.py").run()
    teacher.radio(key="fm_source").set_value("upload").run()
    teacher.file_uploader(key="fm_upload").set_value(("a.png", photo_png(1), "image/png")).run()
    student = app({"class": code})
    student.switch_page("pages/feature-maps.py").run()
    assert student.session_state["fm_previous"] == (photo_png(1), "the teacher's picture")
    hostile = b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 20
    teacher.file_uploader(key="fm_upload").set_value(("evil.png", hostile, "image/png")).run()
    assert [e.value for e in teacher.error] == [
        "This file could not be read as an image; choose a JPEG, PNG, WebP, BMP or GIF file."]
    student.run()
    assert not student.error and not student.exception
    assert student.session_state["fm_previous"] == (photo_png(1), "the teacher's picture")


def test_followed_writes_the_teachers_value_before_the_widget_and_publishes_after():
    def script():
        import streamlit as st

        from ui.classroom import session as class_session
        from ui.classroom import follow

        class_session.begin()
        st.button("Start", key="start", on_click=class_session.start)
        with follow.followed("t.choice", "t_choice", options=["a", "b"]) as disabled:
            st.radio("Choice", ["a", "b", "c"], key="t_choice", disabled=disabled)
        follow.publish("t.window", st.session_state.get("t_window", 0))
        st.caption(f"window {follow.teacher_value('t.window', 'own')}")
        follow.flush()

    teacher = AppTest.from_function(script, default_timeout=60).run()
    teacher.button(key="start").click().run()
    student = AppTest.from_function(script, default_timeout=60)
    student.query_params["class"] = teacher.session_state["cl_code"]
    student.run()
    assert student.radio(key="t_choice").value == "a" and student.radio(key="t_choice").disabled
    teacher.radio(key="t_choice").set_value("b")
    teacher.session_state["t_window"] = 7
    teacher.run()
    student.run()
    assert student.radio(key="t_choice").value == "b" and student.caption[0].value == "window 7"
    teacher.radio(key="t_choice").set_value("c").run()  # a value this page's followers may not take
    student.run()
    assert student.radio(key="t_choice").value == "b"
    assert not teacher.radio(key="t_choice").disabled and teacher.caption[0].value == "window own"


def test_redis_down_is_one_sentence_for_the_teacher_and_new_classes_work_when_it_is_back(redis_server, monkeypatch):
    monkeypatch.setenv("EXPLORER_REDIS_URL", redis_server.url)
    monkeypatch.setattr(redis_store, "PAUSE_S", 0.2)
    teacher = app()
    code = start(teacher)
    assert class_session.classroom().look(code) is not None
    redis_server.kill()
    teacher.switch_page("pages/parameter-breakdown.py").run()
    assert not teacher.exception and teacher.title[0].value.startswith("Parameters")
    down = [t for t in texts(teacher) if "Class mode is off" in t]
    assert down and all(t.count(".") == 1 for t in down)
    other = app()
    other.button(key="cl_start").click().run()
    assert any("Class mode is off" in t for t in texts(other)) and "cl_code" not in other.session_state
    redis_server.start()
    assert _wait_for(lambda: store_answers(class_session.classroom()))  # its pause after the failure is over
    assert start(other) != code and other.session_state["cl_mode"] == "lead"
