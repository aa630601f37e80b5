"""Feature maps, Where it looks and Training step take a new picture in turn (issue 27): in a full line the
page says its place and draws nothing of the picture; let in, the same run decodes the picture and draws the
page; a picture that cannot be read stops the page inside its turn, and the turn is left all the same."""

from __future__ import annotations

import itertools

import pytest
import streamlit as st

SENTENCE = "Your picture is 1st in line; the server works on 1 at a time."
QUERY = {"arch": "lenet5", "weights": "digits"}


def keys(at) -> set[str]:
    return {widget.key for kind in ("selectbox", "radio", "button") for widget in at.get(kind)}


# (page, its keys' prefix, a widget drawn only with a picture, a widget drawn while the picture waits)
PAGES = [
    ("pages/feature-maps.py", "fm", "fm_layer", "fm_source"),
    ("pages/where-the-network-looks.py", "wl", "wl_method", "wl_source"),
    ("pages/training-step.py", "train", "train_target", "train_optimizer"),
]


@pytest.mark.parametrize("page, prefix, with_picture, while_waiting", PAGES)
def test_a_new_picture_waits_its_turn_saying_its_place_then_the_page_draws(app_test, full_line, page, prefix,
                                                                          with_picture, while_waiting):
    full_line.when_told = lambda place: st.stop()  # the student leaves, as a rerun does, once told the place
    at = app_test(query=QUERY, page=page)
    assert not at.exception and not at.error
    assert [info.value for info in at.info] == [SENTENCE]
    assert while_waiting in keys(at) and with_picture not in keys(at)
    assert (full_line.holding, full_line.waiting) == (1, 0)  # the holder alone: the page left the line

    full_line.when_told = lambda place: full_line.release()  # this time the holder leaves while the page waits
    at.run()
    assert not at.exception and not at.error
    assert SENTENCE not in [info.value for info in at.info]
    assert {while_waiting, with_picture} <= keys(at)
    assert (full_line.holding, full_line.waiting) == (0, 0)
    if page == "pages/where-the-network-looks.py":
        assert "LeNet-5 answers **" in "\n".join(m.value for m in at.markdown)  # the map was worked out


@pytest.mark.parametrize("page, prefix, with_picture, while_waiting", PAGES)
def test_a_new_picture_is_decoded_only_once_its_turn_has_come(app_test, full_line, monkeypatch, page, prefix,
                                                              with_picture, while_waiting):
    from ui.selection import pictures

    decoded_after_the_holder_left, real_load = [], pictures.images.load_image

    def load_image(*args, **kwargs):
        decoded_after_the_holder_left.append(not full_line._holder.is_alive())
        return real_load(*args, **kwargs)

    monkeypatch.setattr(pictures.images, "load_image", load_image)
    pictures.prepared_input.clear()  # the sample picture is new to the server again
    full_line.when_told = lambda place: full_line.release()
    at = app_test(query=QUERY, page=page)
    assert not at.exception and with_picture in keys(at)
    assert decoded_after_the_holder_left and all(decoded_after_the_holder_left), decoded_after_the_holder_left


@pytest.mark.parametrize("page, prefix, with_picture, while_waiting", PAGES)
def test_a_first_picture_that_cannot_be_read_stops_the_page_inside_its_turn_and_leaves_the_line(
        app_test, full_line, page, prefix, with_picture, while_waiting):
    full_line.release()
    told = []
    full_line.when_told = told.append
    at = app_test(query=QUERY)
    at.session_state[f"{prefix}_source"] = "upload"  # no picture yet: the page asks for one, outside the line
    at.switch_page(page).run()
    assert not at.exception and with_picture not in keys(at)
    at.file_uploader(key=f"{prefix}_upload").set_value(("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
                                                        "image/png")).run()
    assert not at.exception
    assert [error.value for error in at.error] == [
        "This file could not be read as an image; choose a JPEG, PNG, WebP, BMP or GIF file."]
    assert with_picture not in keys(at) and not told  # it went straight in, and st.stop() ended the page
    assert full_line.let_in == 2 and (full_line.holding, full_line.waiting) == (0, 0)


class Bar:
    """Stands for Score-CAM's progress bar: keeps each text, and lets the named student leave when a text
    contains the words (as a student finishes once Score-CAM has said that it waits for them)."""

    def __init__(self, students, leave_when: dict[str, str]) -> None:
        self.texts: list[str] = []
        self.students, self.leave_when = students, leave_when

    def progress(self, value: float, text: str) -> None:
        self.texts.append(text)
        for words, name in self.leave_when.items():
            if words in text:
                self.students.leave[name].set()


def test_score_cam_waits_for_its_turn_and_lets_new_pictures_go_first_between_batches(monkeypatch):
    from explorer.core.admission import Line
    from tests.test_admission import Students
    from ui.panels import cam_panel
    from ui.selection import pictures

    line = Line(1)
    monkeypatch.setattr(pictures, "picture_line", lambda: line)
    students = Students(line)
    bar = Bar(students, {"Your Score-CAM is 1st in line": "B", "pauses while 1 new picture": "C"})

    def run(progress):
        progress(4, 16)  # nobody waits: it goes on
        students.arrive("C")
        progress(8, 16)  # C waits: Score-CAM lets C in, and goes on once C is done
        assert students.entered == ["B", "C"]
        students.arrive("D")
        progress(16, 16)  # the last batch: nothing left to pause for
        assert students.entered == ["B", "C"]
        return "the map"

    try:
        students.arrive("B")  # the only place is taken when Score-CAM starts
        assert cam_panel.score_cam_in_turn(bar, run) == "the map"
        students.wait_until(lambda: students.entered == ["B", "C", "D"])
    finally:
        students.finish()
    shown = [text for text, _ in itertools.groupby(text.split(",")[0] for text in bar.texts)]  # a slow wake re-tells
    assert shown == [
        "Your Score-CAM is 1st in line; the server works on 1 at a time.", "4 of 16 passes", "8 of 16 passes",
        "Score-CAM pauses while 1 new picture goes first; 8 of 16 passes are done.", "16 of 16 passes"]
    assert (line.holding, line.waiting) == (0, 0)


def test_the_pause_sentence_counts_the_pictures_that_go_first():
    from ui.panels.cam_panel import pause_sentence

    assert pause_sentence(3, 64, 512) == "Score-CAM pauses while 3 new pictures go first; 64 of 512 passes are done."
    assert pause_sentence(1, 96, 512) == "Score-CAM pauses while 1 new picture goes first; 96 of 512 passes are done."


class _Clock:
    """time.monotonic and time.sleep for ``pictures``, without waiting."""

    def __init__(self):
        self.now, self.slept = 0.0, 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.slept += seconds


def _replacement_wait(monkeypatch, *, waiting_after_s, fragment_rerun):
    """Run ``wait_for_a_replacement`` with a request arriving after ``waiting_after_s``: (slept, reruns asked)."""
    from ui import streamlit_adapter
    from ui.selection import pictures

    clock, reruns = _Clock(), []
    monkeypatch.setattr(pictures, "time", clock)
    monkeypatch.setattr(streamlit_adapter, "rerun_waiting", lambda: clock.now >= waiting_after_s)
    monkeypatch.setattr(streamlit_adapter, "fragment_rerun", lambda: fragment_rerun)
    monkeypatch.setattr(pictures.st, "rerun", lambda scope="app": reruns.append(scope))
    pictures.wait_for_a_replacement()
    return clock.slept, reruns


def test_a_replacement_arriving_stops_a_fragments_run_at_once(monkeypatch):
    slept, reruns = _replacement_wait(monkeypatch, waiting_after_s=0.07, fragment_rerun=True)
    assert reruns == ["fragment"]  # merged with the waiting request, it stops this run
    assert 0.07 <= slept < 0.07 + 2 * 0.02


def test_a_full_run_leaves_stopping_to_streamlit_and_a_removal_waits_the_whole_time(monkeypatch):
    from ui.selection import pictures

    slept, reruns = _replacement_wait(monkeypatch, waiting_after_s=0.05, fragment_rerun=False)
    assert reruns == [] and 0.05 <= slept < 0.09  # its next element stops it
    slept, reruns = _replacement_wait(monkeypatch, waiting_after_s=float("inf"), fragment_rerun=True)
    assert reruns == [] and pictures.REPLACEMENT_WAIT_S <= slept < pictures.REPLACEMENT_WAIT_S + 0.03
