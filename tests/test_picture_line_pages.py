"""A page with a new picture waits its turn in the server's line, says its place, then draws as usual.

The line is made full by a student holding its only place in another thread; the page (AppTest runs it
in this thread) waits, is told its place, and draws once that student leaves. Which decodes and passes
ran inside the turn is recorded too: a picture waits before it is decoded, not only before its pass.
"""

from __future__ import annotations

import threading

import pytest

from explorer.core.admission import Line
from tests.test_hostile_inputs import small_png, started

WAIT_S = 60


class FullLine:
    """The server's line, of one place, held by another student (from ``start``) until the page is told its place."""

    def __init__(self) -> None:
        self.line = Line(1)
        self.places: list[int] = []
        self.decoded_while_holding: list[bool] = []
        self._held, self._leave = threading.Event(), threading.Event()
        self._other = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with self.line.turn():
            self._held.set()
            self._leave.wait(WAIT_S)

    def start(self) -> FullLine:
        self._other.start()
        assert self._held.wait(WAIT_S)
        return self

    def told(self, place: int, capacity: int, what: str = "Your picture") -> str:
        self.places.append(place)
        self._leave.set()  # the page is waiting and was told: the other student now leaves
        return f"{what} is place {place}"

    def stop(self) -> None:
        self._leave.set()
        self._other.join(WAIT_S)


@pytest.fixture
def full_line(monkeypatch):
    import ui.selection.pictures as pictures

    line = FullLine()
    monkeypatch.setattr(pictures, "picture_line", lambda: line.line)
    monkeypatch.setattr(pictures.admission, "place_sentence", line.told)
    real_load = pictures.images.load_image

    def load_image(*args, **kwargs):
        if line._held.is_set():  # from the moment the line is full
            line.decoded_while_holding.append(line._leave.is_set())
        return real_load(*args, **kwargs)

    monkeypatch.setattr(pictures.images, "load_image", load_image)
    yield line
    line.stop()


def test_feature_maps_waits_for_its_turn_before_decoding_then_draws(full_line):
    at = started("pages/feature-maps.py", {"arch": "resnet18", "h": "64", "w": "64"})
    at.radio(key="fm_source").set_value("upload").run()
    full_line.start()
    at.file_uploader(key="fm_upload").set_value(("mine.png", small_png(), "image/png")).run()
    assert full_line.places == [1]
    assert full_line.decoded_while_holding == [True], "decoded only once its turn came"
    assert not at.exception and not at.error
    assert at.selectbox(key="fm_layer").value and len(at.get("image")) >= 3
    # The same picture again (a layer switch, a rerun) does not queue.
    at.run()
    assert full_line.places == [1]
